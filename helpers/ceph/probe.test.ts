import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { CephTransport } from "../config/schema.ts";
import {
  CephCommandError,
  isImageGone,
  CephProbeError,
  CephTimeoutError,
  createCephProbe,
  hasCephAccess,
  isNoCephAccess,
  NoCephAccessError,
  shellQuote,
} from "./probe.ts";

const KEY = "AQBvxyFnAAAAABAAk2Zr6b0mJ4dS5rQb8f8Jxw==";

// Stub rbd/ceph/ssh: print argv one per line; "slow" sleeps, "fail" leaks a key on stderr and exits 2.
const STUB = `#!/bin/sh
case "$*" in *slow*) exec sleep 10;; esac
case "$*" in *fail*) echo "rbd: error opening image: key = ${KEY}" >&2; exit 2;; esac
case "$*" in *racy*) n="$(dirname "$0")/racy.$1"; if [ ! -e "$n" ]; then : > "$n"; echo "rbd: error opening volume-1: (2) No such file or directory" >&2; exit 2; fi; echo "[]"; exit 0;; esac
case "$*" in *gone*) echo "rbd: error opening volume-1: (2) No such file or directory" >&2; exit 2;; esac
case "$*" in *fsid*) echo 0F9EE397-8B6D-483E-8D10-9BBFE358836C; exit 0;; esac
for a in "$0" "$@"; do echo "$a"; done
`;

let dir: string;
let savedPath: string | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "dcnv-probe-"));
  for (const bin of ["rbd", "ceph"]) {
    writeFileSync(join(dir, bin), STUB);
    chmodSync(join(dir, bin), 0o755);
  }
  savedPath = process.env.PATH;
  process.env.PATH = `${dir}:${savedPath ?? ""}`;
});

afterAll(() => {
  process.env.PATH = savedPath;
  rmSync(dir, { recursive: true, force: true });
});

const probe = (transport: CephTransport, opts: { timeoutMs?: number; user?: string } = {}) =>
  createCephProbe({ name: "dcn0", ceph: { cluster: "dcn0", transport, user: opts.user } }, { timeoutMs: opts.timeoutMs ?? 5000 });

const lines = (stdout: string) => stdout.trim().split("\n").slice(1);

describe("local transport", () => {
  test("adds --cluster, and --conf <confDir>/<cluster>.conf when confDir is set", async () => {
    await using p = probe({ kind: "local", confDir: "/srv/ceph" });
    const r = await p.run(["rbd", "-p", "volumes", "ls", "-l"]);
    expect(lines(r.stdout)).toEqual(["--cluster", "dcn0", "--conf", "/srv/ceph/dcn0.conf", "-p", "volumes", "ls", "-l"]);
    expect(r.command).toBe("rbd --cluster dcn0 --conf /srv/ceph/dcn0.conf -p volumes ls -l");
  });

  test("passes the site's id, conf and keyring, and runs behind its prefix with the placeholders filled", async () => {
    await using p = createCephProbe(
      {
        name: "dcn0",
        ceph: {
          cluster: "dcn0",
          fsid: "0f9ee397-8b6d-483e-8d10-9bbfe358836c",
          transport: { kind: "local", prefix: ["env", "DCNV_FSID={fsid}", "DCNV_WHERE={cluster}@{host}"] },
          user: "probe",
          conf: "/etc/ceph/ro.conf",
          keyring: "/etc/ceph/ro.keyring",
        },
      },
      { timeoutMs: 5000 },
    );
    const r = await p.run(["rbd", "ls", "images"]);
    expect(lines(r.stdout)).toEqual([
      "--cluster",
      "dcn0",
      "--id",
      "probe",
      "--conf",
      "/etc/ceph/ro.conf",
      "--keyring",
      "/etc/ceph/ro.keyring",
      "ls",
      "images",
    ]);
    expect(r.command).toBe(
      `env DCNV_FSID=0f9ee397-8b6d-483e-8d10-9bbfe358836c DCNV_WHERE=dcn0@${hostname().split(".")[0]} rbd --cluster dcn0 --id probe --conf /etc/ceph/ro.conf --keyring /etc/ceph/ro.keyring ls images`,
    );
  });

  test("passes the configured ceph user as --id", async () => {
    await using p = probe({ kind: "local" }, { user: "glance" });
    expect(lines((await p.run(["ceph", "-s"])).stdout)).toEqual(["--cluster", "dcn0", "--id", "glance", "-s"]);
  });

  test("fsid is lower-cased and validated", async () => {
    await using p = probe({ kind: "local" });
    expect(await p.fsid()).toBe("0f9ee397-8b6d-483e-8d10-9bbfe358836c");
  });

  test("a non-zero exit names site, transport, command and the redacted stderr", async () => {
    await using p = probe({ kind: "local" });
    const err = await p.run(["rbd", "info", "volumes/fail"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CephCommandError);
    expect(err).toMatchObject({ site: "dcn0", transport: "local", exitCode: 2, command: "rbd --cluster dcn0 info volumes/fail" });
    expect((err as Error).message).toBe(
      "ceph probe dcn0 (local): `rbd --cluster dcn0 info volumes/fail` exited 2: rbd: error opening image: key = [REDACTED]",
    );
  });

  test("a listing that meets an image deleted under it is taken again, at most three times", async () => {
    await using p = probe({ kind: "local" });
    expect(await p.rbdList("racy")).toEqual([]);
    const err = await p.rbdList("gone").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CephCommandError);
    expect((err as CephCommandError).stderrTail).toContain("error opening volume-1: (2) No such file or directory");
  });

  test("an image deleted under a command is told apart from other failures, in both of rbd's wordings", () => {
    const err = (stderr: string) => new CephCommandError("dcn0", "ssh", "rbd --cluster dcn0 info glance-images/x", 2, stderr);
    // Recorded in the field profile's CI run: rbd info on an image another test had just deleted.
    expect(isImageGone(err("rbd: error opening image 708f8e86-c45b-430a-bd3d-30ed5d5f2a6f: (2) No such file or directory"))).toBe(true);
    expect(isImageGone(err("rbd: error opening volume-1: (2) No such file or directory"))).toBe(true);
    expect(isImageGone(err("rbd: error opening image x: (13) Permission denied"))).toBe(false);
    expect(isImageGone(err("rbd: error opening pool 'glance-images': (2) No such file or directory"))).toBe(false);
    expect(isImageGone(new Error("rbd: error opening image x: (2) No such file or directory"))).toBe(false);
  });

  test("reject: false returns the exit code", async () => {
    await using p = probe({ kind: "local" });
    const r = await p.run(["rbd", "info", "volumes/fail"], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).not.toContain(KEY);
  });

  test("a timeout says which command, how long and which site", async () => {
    await using p = probe({ kind: "local" }, { timeoutMs: 200 });
    const started = Date.now();
    const err = await p.run(["rbd", "info", "volumes/slow"]).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(err).toBeInstanceOf(CephTimeoutError);
    expect((err as Error).message).toBe("ceph probe dcn0 (local): `rbd --cluster dcn0 info volumes/slow` did not finish within 200 ms");
  });

  test("refuses mutating commands and foreign clusters before running anything", async () => {
    await using p = probe({ kind: "local" });
    await expect(p.run(["rbd", "snap", "rm", "images/x@snap"])).rejects.toThrow(/refused `rbd snap rm images\/x@snap`/);
    await expect(p.run(["rbd", "--cluster", "central", "ls"])).rejects.toThrow(/not this site's cluster \(dcn0\)/);
    await expect(p.run(["rbd", "-c", "/etc/ceph/central.conf", "ls"])).rejects.toBeInstanceOf(CephProbeError);
  });

  test("a closed probe refuses further commands", async () => {
    const p = probe({ kind: "local" });
    await p.close();
    await expect(p.run(["ceph", "-s"])).rejects.toThrow(/probe is closed/);
  });

  test("a missing binary is an error, not a hang", async () => {
    const saved = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
      await using p = probe({ kind: "local" });
      await expect(p.run(["ceph", "-s"])).rejects.toThrow(/exited 127: .*ENOENT/);
    } finally {
      process.env.PATH = saved;
    }
  });
});

describe("none transport", () => {
  test("every command rejects with NoCephAccessError naming the site and the reason, and the allowlist still holds", async () => {
    await using p = probe({ kind: "none", reason: "Ceph is external to this cloud" });
    const err = await p.fsid().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoCephAccessError);
    expect(isNoCephAccess(err)).toBe(true);
    expect((err as Error).message).toBe("[dcn0] not verified: no Ceph access (ceph.transport.kind none: Ceph is external to this cloud)");
    await expect(p.run(["rbd", "rm", "volumes/x"])).rejects.toBeInstanceOf(CephProbeError);
    expect(hasCephAccess({ ceph: { transport: { kind: "none" } } })).toBe(false);
    expect(hasCephAccess({ ceph: { transport: { kind: "local" } } })).toBe(true);
  });
});

test("shellQuote leaves plain words alone and quotes the rest", () => {
  expect(shellQuote("images/abc@snap")).toBe("images/abc@snap");
  expect(shellQuote("a'b c")).toBe(`'a'\\''b c'`);
  expect(shellQuote("$(reboot)")).toBe("'$(reboot)'");
});
