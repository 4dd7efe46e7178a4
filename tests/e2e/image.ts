import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { join } from "node:path";
import { execa, type Result } from "execa";
import { parse, stringify } from "yaml";
import type { RunSummary } from "../../helpers/harness/model.ts";
import { type Sshd, startSshd } from "../../lab/sshd.ts";
import { paths } from "../../lab/state.ts";

const ROOT = join(import.meta.dirname, "..", "..");

/**
 * dcn-verify's image (container/Containerfile, on a base bootstrapped from Debian's packages) run the way OpenShift
 * runs a pod: UID 12345 with group 0 and no passwd entry, a read-only root, clouds.yaml and secure.yaml at
 * test-operator's paths, the config at /etc/dcn-verify/config.yaml, Ceph over ssh to an sshd of its own, the reports
 * folder a volume. container/chroot-run.sh says what differs from a real runtime.
 */
export interface ImagePod {
  image: string;
  /** The host folder mounted at /var/lib/dcn-verify/reports. */
  reports: string;
  sshd: Sshd;
  /** The image's entry point (or another) with these arguments, in a fresh "pod"; mounts: false runs it with none. */
  run(args: string[], o?: { entrypoint?: string[]; mounts?: false }): Promise<Result<{ reject: false; all: true }>>;
  /** The summary of the newest run in the reports folder. */
  lastRun(): { runId: string; summary: RunSummary };
  stop(): Promise<void>;
}

export const POD_UID = 12345;

/** How long a lab test waits for npm test's build of the image (container/build.sh takes minutes at nice 19). */
const BUILD_WAIT_MS = 15 * 60 * 1000;

/**
 * npm test builds the image beside the tests and names it in DCN_VERIFY_TEST_IMAGE, with the file its build's exit
 * code will be in (DCN_VERIFY_TEST_IMAGE_RC) and its log (DCN_VERIFY_TEST_IMAGE_LOG); alone, this builds it.
 */
async function testImage(): Promise<string> {
  const rcFile = process.env.DCN_VERIFY_TEST_IMAGE_RC;
  if (rcFile) {
    const start = Date.now();
    while (!existsSync(rcFile)) {
      if (Date.now() - start > BUILD_WAIT_MS)
        throw new Error(`the container image's build (npm test) did not end within ${BUILD_WAIT_MS / 1000} s (no exit code in ${rcFile})`);
      await sleep(2000);
    }
    const rc = readFileSync(rcFile, "utf8").trim();
    if (rc !== "0") {
      const log = process.env.DCN_VERIFY_TEST_IMAGE_LOG;
      const tail = log && existsSync(log) ? readFileSync(log, "utf8").split("\n").slice(-30).join("\n") : "(no log)";
      throw new Error(`the container image's build (npm test) exited ${rc}:\n${tail}`);
    }
  }
  if (process.env.DCN_VERIFY_TEST_IMAGE) return process.env.DCN_VERIFY_TEST_IMAGE;
  return (await execa(join(ROOT, "container", "build.sh"), ["localhost/dcn-verify:lab-test"])).stdout.trim();
}

export async function imagePod(name: string): Promise<ImagePod> {
  const image = await testImage();
  const sshd = await startSshd({ stateDir: join(paths().root, "sshd", name) });
  const dir = mkdtempSync(join(paths().root, `${name}-`));
  chmodSync(dir, 0o755);
  // test-operator's mounts: clouds.yaml and secure.yaml (the passwords) under /etc/openstack, root's files that group 0
  // may read, as a Secret's are with fsGroup.
  const clouds = parse(readFileSync(paths().cloudsYaml, "utf8")) as { clouds: Record<string, { auth: Record<string, string> }> };
  const secure = { clouds: {} as Record<string, { auth: { password: string } }> };
  for (const [cloud, c] of Object.entries(clouds.clouds)) {
    secure.clouds[cloud] = { auth: { password: c.auth.password! } };
    delete c.auth.password;
  }
  const file = (file: string, text: string, mode: number) => {
    const p = join(dir, file);
    writeFileSync(p, text, { mode });
    chownSync(p, 0, 0);
    chmodSync(p, mode);
  };
  file("clouds.yaml", stringify(clouds), 0o440);
  file("secure.yaml", stringify(secure), 0o440);
  file("id", readFileSync(sshd.identityFile, "utf8"), 0o440);
  file("known_hosts", readFileSync(sshd.knownHostsFile, "utf8"), 0o444);
  // The lab's config with Ceph reached over ssh, and the clouds found where test-operator puts them.
  const cfg = parse(readFileSync(paths().config, "utf8")) as {
    cloud: Record<string, string>;
    conformance: { nonAdminCloud: Record<string, string> };
    central: { ceph: { transport: unknown } };
    edges: { ceph: { transport: unknown } }[];
  };
  delete cfg.cloud.cloudsFile;
  delete cfg.conformance.nonAdminCloud.cloudsFile;
  for (const s of [cfg.central, ...cfg.edges])
    s.ceph.transport = {
      kind: "ssh",
      host: "127.0.0.1",
      port: sshd.port,
      user: "root",
      identityFile: "/etc/dcn-verify/ssh/id",
      knownHostsFile: "/etc/dcn-verify/ssh/known_hosts",
      prefix: [],
    };
  file("config.yaml", stringify(cfg), 0o444);
  const reports = join(dir, "reports");
  mkdirSync(reports);
  chmodSync(reports, 0o2770);
  const mounts = [
    `${join(dir, "clouds.yaml")}:/etc/openstack/clouds.yaml:ro`,
    `${join(dir, "secure.yaml")}:/etc/openstack/secure.yaml:ro`,
    `${join(dir, "config.yaml")}:/etc/dcn-verify/config.yaml:ro`,
    `${join(dir, "id")}:/etc/dcn-verify/ssh/id:ro`,
    `${join(dir, "known_hosts")}:/etc/dcn-verify/ssh/known_hosts:ro`,
    `${reports}:/var/lib/dcn-verify/reports`,
  ];
  return {
    image,
    reports,
    sshd,
    run: (args, o = {}) =>
      execa(
        join(ROOT, "container", "chroot-run.sh"),
        [
          image,
          `${POD_UID}:0`,
          ...(o.mounts === false ? [`${reports}:/var/lib/dcn-verify/reports`] : mounts).flatMap((m) => ["--mount", m]),
          ...(o.entrypoint ? ["--entrypoint", o.entrypoint.join(" ")] : []),
          "--",
          ...args,
        ],
        { reject: false, all: true, timeout: 900_000 },
      ),
    lastRun: () => {
      const runId = readdirSync(reports)
        .filter((f) => /^\d{8}t\d{6}-[0-9a-f]{4}$/.test(f))
        .sort()
        .pop()!;
      return { runId, summary: JSON.parse(readFileSync(join(reports, runId, "summary.json"), "utf8")) as RunSummary };
    },
    stop: () => sshd.stop(),
  };
}
