import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CephProbeError, createCephProbe } from "../helpers/ceph/probe.ts";
import { cephTransportSchema } from "../helpers/config/schema.ts";
import { type Sshd, startSshd } from "./sshd.ts";

// Real OpenSSH servers on loopback (a target and a jump host); rbd/ceph are stubs that print their argv.
// NOTE: each session runs root's login shell, whose ~/.bashrc can be slow (on the lab machine, about 3 s of pyenv init).
const FSID = "0f9ee397-8b6d-483e-8d10-9bbfe358836c";
const STUB = `#!/bin/sh
case "$*" in *fsid*) echo '{"fsid":"${FSID}"}'; exit 0;; esac
for a in "$@"; do echo "$a"; done
`;

let dir: string;
let bin: string;
let target: Sshd;
let jump: Sshd;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "dcnv-sshd-"));
  bin = join(dir, "bin");
  mkdirSync(bin);
  for (const tool of ["rbd", "ceph"]) {
    writeFileSync(join(bin, tool), STUB);
    chmodSync(join(bin, tool), 0o755);
  }
  [target, jump] = await Promise.all([startSshd({ stateDir: join(dir, "target") }), startSshd({ stateDir: join(dir, "jump") })]);
});

afterAll(async () => {
  await Promise.all([target?.stop(), jump?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

const probe = (transport: Record<string, unknown>) =>
  createCephProbe(
    { name: "dcn0", ceph: { cluster: "dcn0", user: "ro", transport: cephTransportSchema.parse({ kind: "ssh", ...transport }) } },
    { timeoutMs: 60_000 },
  );
const toTarget = () => ({
  host: "127.0.0.1",
  port: target.port,
  user: "root",
  identityFile: target.identityFile,
  knownHostsFile: target.knownHostsFile,
  prefix: ["env", `PATH=${bin}:/usr/bin:/bin`, "DCNV_ON={host}"],
});

/** The ssh masters the transports keep open (their ssh_config lives in a dcnv-ssh- directory). */
async function masters(): Promise<number[]> {
  const pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p));
  return pids.flatMap((p) => {
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0");
      return argv[0] === "ssh" && argv.includes("-M") && argv.some((a) => a.includes("/dcnv-ssh-")) ? [Number(p)] : [];
    } catch {
      return [];
    }
  });
}

describe("the ssh transport against a real sshd", { timeout: 120_000 }, () => {
  test("every command of a site goes over one connection (more at once than sshd's 10 sessions), behind the prefix; close() ends it", async () => {
    const before = target.connections();
    const dirs = () => readdirSync(tmpdir()).filter((d) => d.startsWith("dcnv-ssh-"));
    const others = dirs();
    const p = probe(toTarget());
    const host = (await execa("hostname", ["-s"])).stdout.trim();
    const runs = await Promise.all(Array.from({ length: 12 }, (_, i) => p.run(["rbd", "-p", "volumes", "ls", `img-${i}`])));
    expect(runs[3]!.stdout.trim().split("\n")).toEqual(["--cluster", "dcn0", "--id", "ro", "-p", "volumes", "ls", "img-3"]);
    expect(runs[3]!.command).toBe(
      `ssh -p ${target.port} -i ${target.identityFile} root@127.0.0.1 ` +
        `'env PATH=${bin}:/usr/bin:/bin DCNV_ON=${host} rbd --cluster dcn0 --id ro -p volumes ls img-3'`,
    );
    expect(await p.fsid()).toBe(FSID);
    expect(target.connections() - before).toBe(1);
    expect(await masters()).toHaveLength(1);
    await p.close();
    expect(await masters()).toEqual([]);
    expect(dirs()).toEqual(others);
  });

  test("through a jump host: one connection to each, with the target's key checked against known_hosts", async () => {
    const known = join(dir, "known_hosts");
    writeFileSync(known, readFileSync(target.knownHostsFile, "utf8") + readFileSync(jump.knownHostsFile, "utf8"));
    const [t0, j0] = [target.connections(), jump.connections()];
    await using p = probe({
      ...toTarget(),
      knownHostsFile: known,
      jumpHost: { host: "127.0.0.1", port: jump.port, user: "root", identityFile: jump.identityFile },
    });
    expect(await p.fsid()).toBe(FSID);
    await Promise.all(["images", "volumes", "vms"].map((pool) => p.rbdListText(pool)));
    expect([target.connections() - t0, jump.connections() - j0]).toEqual([1, 1]);
    expect((await p.run(["rbd", "ls", "images"])).command).toMatch(
      new RegExp(`^ssh -J root@127\\.0\\.0\\.1:${jump.port} -p ${target.port} `),
    );
  });

  test("strict refuses a host key that is not in known_hosts; accept-new records it; off takes it", async () => {
    const other = join(dir, "other_known_hosts");
    writeFileSync(other, readFileSync(jump.knownHostsFile, "utf8").replace(`:${jump.port}]`, `:${target.port}]`));
    {
      await using p = probe({ ...toTarget(), knownHostsFile: other });
      const err = await p.fsid().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CephProbeError);
      expect((err as Error).message).toMatch(/ssh connection to 127\.0\.0\.1 ended: .*(host key|HOST IDENTIFICATION HAS CHANGED)/is);
    }
    const fresh = join(dir, "fresh_known_hosts");
    writeFileSync(fresh, "");
    {
      await using p = probe({ ...toTarget(), knownHostsFile: fresh, hostKeyChecking: "accept-new" });
      expect(await p.fsid()).toBe(FSID);
      expect(readFileSync(fresh, "utf8")).toContain(`[127.0.0.1]:${target.port} ssh-ed25519 `);
    }
    {
      const { knownHostsFile: _, ...rest } = toTarget();
      await using p = probe({ ...rest, hostKeyChecking: "off" });
      expect(await p.fsid()).toBe(FSID);
    }
  });

  test("a connection that dies is opened again for the next command", async () => {
    await using p = probe(toTarget());
    expect(await p.fsid()).toBe(FSID);
    const before = target.connections();
    const [pid] = await masters();
    process.kill(pid!, "SIGKILL");
    for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await p.fsid()).toBe(FSID);
    expect(await p.fsid()).toBe(FSID);
    expect(target.connections() - before).toBe(1);
  });

  test("a mutating command is refused before any connection is made", async () => {
    const before = target.connections();
    await using p = probe(toTarget());
    await expect(p.run(["rbd", "rm", "volumes/x"])).rejects.toThrow(/refused `rbd rm volumes\/x`/);
    expect(target.connections()).toBe(before);
  });
});
