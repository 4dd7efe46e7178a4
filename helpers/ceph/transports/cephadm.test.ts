import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cephTransportSchema } from "../../config/schema.ts";
import { createCephProbe } from "../probe.ts";
import { cephadmArgv } from "./cephadm.ts";
import type { CephadmTransport } from "./common.ts";

const FSID = "0f9ee397-8b6d-483e-8d10-9bbfe358836c";

// Stand-ins on PATH: ssh (the master creates its ControlPath and waits, -O exit ends it, a command runs under sh),
// sudo (drops -n), and cephadm and podman (print their argv one per line).
const SSH = `#!/bin/sh
cp=$(sed -n 's/^  ControlPath //p' "$2")
case "$3" in
  -M) echo $$ > "$cp.pid"; : > "$cp"; exec sleep 30;;
  -O) kill "$(cat "$cp.pid")"; exit 0;;
esac
shift 4
exec sh -c "$1"
`;
const SUDO = `#!/bin/sh
[ "$1" = -n ] && shift
exec "$@"
`;
const CEPHADM = `#!/bin/sh
for a in "$@"; do echo "$a"; done
`;

let dir: string;
let savedPath: string | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "dcnv-cephadm-"));
  for (const [bin, text] of [
    ["ssh", SSH],
    ["sudo", SUDO],
    ["cephadm", CEPHADM],
    ["podman", CEPHADM],
  ] as const) {
    writeFileSync(join(dir, bin), text);
    chmodSync(join(dir, bin), 0o755);
  }
  savedPath = process.env.PATH;
  process.env.PATH = `${dir}:${savedPath ?? ""}`;
});

afterAll(() => {
  process.env.PATH = savedPath;
  rmSync(dir, { recursive: true, force: true });
});

const cephadm = (t: Record<string, unknown> = {}) =>
  cephTransportSchema.parse({ kind: "cephadm", host: "dcn0-hci-0", user: "tripleo-admin", ...t }) as CephadmTransport;
const site = (transport: CephadmTransport, extra: { conf?: string; keyring?: string; fsid?: string | null } = {}) => ({
  name: "dcn0",
  ceph: {
    cluster: "dcn0",
    user: "openstack",
    transport,
    conf: extra.conf,
    keyring: extra.keyring,
    fsid: extra.fsid === null ? undefined : (extra.fsid ?? FSID),
  },
});

describe("cephadm transport", () => {
  test("runs `sudo -n cephadm shell --fsid` over ssh, rbd with --id only, and the evidence reads as an operator types it", async () => {
    const controls = () => readdirSync(tmpdir()).filter((d) => d.startsWith("dcnv-ssh-"));
    const before = controls();
    {
      await using p = createCephProbe(site(cephadm()), { timeoutMs: 5000 });
      const r = await p.run(["rbd", "-p", "volumes", "ls", "-l"]);
      expect(r.stdout.trim().split("\n")).toEqual(["shell", "--fsid", FSID, "--", "rbd", "--id", "openstack", "-p", "volumes", "ls", "-l"]);
      expect(r.command).toBe(`ssh tripleo-admin@dcn0-hci-0 'sudo -n cephadm shell --fsid ${FSID} -- rbd --id openstack -p volumes ls -l'`);
      expect(p.transport).toBe("cephadm");
    }
    expect(controls().filter((d) => !before.includes(d))).toEqual([]);
  });

  test("a caller's --cluster is dropped: the shell's /etc/ceph has only ceph.conf", async () => {
    await using p = createCephProbe(site(cephadm({ sudo: false })), { timeoutMs: 5000 });
    const r = await p.run(["rbd", "--cluster", "dcn0", "ls", "images"]);
    expect(r.command).toBe(`ssh tripleo-admin@dcn0-hci-0 'cephadm shell --fsid ${FSID} -- rbd --id openstack ls images'`);
  });

  test("ceph.conf and ceph.keyring become cephadm's --config and --keyring; command and sudo follow the config", () => {
    const s = site(cephadm({ sudo: false, command: "/usr/sbin/cephadm" }), {
      conf: "/etc/ceph/dcn0.conf",
      keyring: "/etc/ceph/dcn0.client.openstack.keyring",
    });
    expect(cephadmArgv(s, ["ceph", "fsid"])).toEqual([
      "/usr/sbin/cephadm",
      "shell",
      "--fsid",
      FSID,
      "--config",
      "/etc/ceph/dcn0.conf",
      "--keyring",
      "/etc/ceph/dcn0.client.openstack.keyring",
      "--",
      "ceph",
      "fsid",
    ]);
  });

  test("without ceph.fsid every command fails naming the field", async () => {
    await using p = createCephProbe(site(cephadm(), { fsid: null }), { timeoutMs: 5000 });
    await expect(p.run(["ceph", "fsid"])).rejects.toThrow(/dcn0: the cephadm transport needs ceph.fsid/);
  });
});

describe("cephadm's mon container over the ssh shorthand", () => {
  test("with ceph.fsid pinned, podman exec ceph-<fsid>-mon-<host> and no --cluster", async () => {
    const host = hostname().split(".")[0];
    const transport = cephTransportSchema.parse({ kind: "ssh", host: "dcn0-hci-0" });
    await using p = createCephProbe({ name: "dcn0", ceph: { cluster: "dcn0", fsid: FSID, transport } }, { timeoutMs: 5000 });
    const r = await p.run(["ceph", "-s"]);
    expect(r.stdout.trim().split("\n")).toEqual(["exec", `ceph-${FSID}-mon-${host}`, "ceph", "-s"]);
    expect(r.command).toBe(`ssh dcn0-hci-0 'sudo -n podman exec ceph-${FSID}-mon-${host} ceph -s'`);
  });
});
