/** The Debian packages a lab needs, and dcn-verify's own tests: installed with apt when missing. */
import { execa } from "execa";
import { profileDef } from "./profiles/index.ts";
import { LabError, log } from "./procs.ts";
import type { LabProfile } from "./state.ts";

const PACKAGES = [
  "ceph-mon",
  "ceph-osd",
  "ceph-common",
  "python3-rbd",
  "python3-rados",
  "mariadb-server",
  "python3-pymysql",
  "rabbitmq-server",
  "keystone",
  "glance-api",
  "cinder-api",
  "cinder-scheduler",
  "cinder-volume",
  "cinder-backup",
  "nova-api",
  "nova-conductor",
  "nova-scheduler",
  "python3-nova",
  "placement-api",
  "neutron-server",
  "python3-openstackclient",
  "python3-glanceclient",
  "python3-cinderclient",
  "python3-novaclient",
  "qemu-utils",
];

/** The cephadm profiles reach each site's Ceph through an OpenSSH server, as a user who may only sudo cephadm. */
const SSH_PACKAGES = ["openssh-server", "sudo"];

/**
 * What only the harness's own tests need: Debian's headless Chromium opens the per-site Allure reports; the ssh
 * transport's unit tests log in to OpenSSH servers on loopback (lab/sshd.ts); buildah and mmdebstrap build the
 * container image (container/); promtool checks the metrics, and Prometheus with a Pushgateway reads them back.
 */
const TEST_PACKAGES = ["chromium", ...SSH_PACKAGES, "buildah", "mmdebstrap", "prometheus", "prometheus-pushgateway"];

/**
 * Installs what is missing of the Debian packages a lab of the profile needs (apt, as root); with tests, also
 * what the harness's own tests need.
 */
export async function ensurePackages(o: { profile?: LabProfile; tests?: boolean } = {}): Promise<void> {
  const ssh = profileDef(o.profile).access.kind === "cephadm";
  const wanted = [...new Set([...PACKAGES, ...(ssh ? SSH_PACKAGES : []), ...(o.tests ? TEST_PACKAGES : [])])];
  // NOTE: the ${...} are dpkg-query's own format fields.
  const q = await execa("dpkg-query", ["-W", "-f=${Package} ${db:Status-Status}\n", ...wanted], { reject: false });
  const installed = new Set(
    q.stdout
      .split("\n")
      .filter((l) => l.endsWith(" installed"))
      .map((l) => l.split(" ")[0]),
  );
  const missing = wanted.filter((p) => !installed.has(p));
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) throw new LabError(`missing Debian packages (${missing.join(" ")}); run lab up as root`);
  log(`installing ${missing.length} Debian packages: ${missing.join(" ")}`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  const upd = await execa("apt-get", ["update", "-q"], { env, reject: false });
  if (upd.exitCode !== 0) throw new LabError(`apt-get update failed:\n${upd.stderr.split("\n").slice(-10).join("\n")}`, "apt");
  const inst = await execa(
    "apt-get",
    [
      "install",
      "-y",
      "-q",
      "--no-install-recommends",
      "-o",
      "Dpkg::Options::=--force-confdef",
      "-o",
      "Dpkg::Options::=--force-confold",
      ...missing,
    ],
    { env, reject: false },
  );
  if (inst.exitCode !== 0)
    throw new LabError(`apt-get install failed:\n${(inst.stdout + inst.stderr).split("\n").slice(-20).join("\n")}`, "apt");
}
