import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { CephTimeoutError, createCephProbe } from "../ceph/probe.ts";
import { configSchema, type Site } from "../config/schema.ts";
import { validConfig } from "../config/testing.ts";
import { guarded, siteBreakers } from "./context.ts";
import { SiteUnreachableError } from "./reach.ts";

const FSID = "0b3c9f0e-8a4c-4d7e-9f5e-2c1d3a4b5c6d";

// The probe's local transport runs `<stub> rbd|ceph --cluster dcn0 …`: rbd is slow; `ceph fsid` answers unless the file
// "down" exists, and every `ceph fsid` asked is logged.
let dir: string;
const stub = () => join(dir, "stub");
const down = () => join(dir, "down");
const asked = () => (existsSync(join(dir, "asked")) ? readFileSync(join(dir, "asked"), "utf8").trim().split("\n").length : 0);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "dcnv-breaker-"));
  writeFileSync(
    stub(),
    `#!/bin/sh
here="$(dirname "$0")"
case "$1" in rbd) exec sleep 10;; esac
echo fsid >> "$here/asked"
[ -e "$here/down" ] && exec sleep 10
echo '{"fsid":"${FSID}"}'
`,
  );
  chmodSync(stub(), 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => rmSync(down(), { force: true }));

/** dcn0's probe behind its breaker, as a site's context makes it: commands bounded by 0.3 s, the reach check by 0.5 s. */
function breakerAtDcn0() {
  const site = {
    name: "dcn0",
    az: "dcn0",
    store: "dcn0",
    ceph: { cluster: "dcn0", fsid: FSID, transport: { kind: "local", prefix: [stub()] } },
  } as Site;
  const cfg = configSchema.parse({ ...validConfig(), edges: [site], timeouts: { cephReach: 0.5 } });
  const b = siteBreakers(cfg, {
    dcn0: { site: "dcn0", state: "ok", fsid: FSID, pinned: true, ms: 5 },
  });
  const probe = guarded(createCephProbe(site, { timeoutMs: 300 }), {
    blocked: () => b.unreachable("dcn0"),
    timedOut: (e) => b.recheck(site, e),
  });
  return { b, probe };
}

describe("a site's breaker", () => {
  test("one slow command does not open it when the site's reach check still answers: the command fails as a timeout, the next runs", async () => {
    const before = asked();
    const { b, probe } = breakerAtDcn0();
    await expect(probe.rbdList("images")).rejects.toBeInstanceOf(CephTimeoutError);
    expect(asked() - before).toBe(1);
    expect(b.unreachable("dcn0")).toBeUndefined();
    await expect(probe.fsid()).resolves.toBe(FSID);
    await probe.close();
  });

  test("a slow command opens it when the reach check fails too: the reason names both, and the next call fails at once", async () => {
    const { b, probe } = breakerAtDcn0();
    writeFileSync(down(), "");
    await expect(probe.rbdList("images")).rejects.toBeInstanceOf(CephTimeoutError);
    expect(b.unreachable("dcn0")).toMatchObject({ site: "dcn0", state: "unreachable" });
    expect(b.unreachable("dcn0")!.reason).toMatch(
      /^ceph probe dcn0 \(local\): `\S+\/stub rbd --cluster dcn0 -p images ls -l --format json` did not finish within 300 ms; asked again, its Ceph cluster dcn0 did not answer `ceph fsid` within 0\.5 s: `\S+\/stub ceph --cluster dcn0 fsid --format json` timed out$/,
    );
    const before = asked();
    const t0 = Date.now();
    await expect(probe.fsid()).rejects.toBeInstanceOf(SiteUnreachableError);
    expect(Date.now() - t0).toBeLessThan(100);
    expect(asked()).toBe(before);
    await probe.close();
  });

  test("commands that time out together share one reach check", async () => {
    const before = asked();
    const { probe } = breakerAtDcn0();
    writeFileSync(down(), "");
    const all = await Promise.allSettled([probe.rbdList("images"), probe.rbdList("volumes"), probe.rbdList("vms")]);
    expect(all.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    expect(asked() - before).toBe(1);
    await probe.close();
  });
});
