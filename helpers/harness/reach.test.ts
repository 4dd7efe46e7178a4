import { describe, expect, test } from "vitest";
import { configSchema, type Site } from "../config/schema.ts";
import { validConfig } from "../config/testing.ts";
import { checkReach, formatReach, isUnreachable, judgeReach } from "./reach.ts";

const A = "0b3c9f0e-8a4c-4d7e-9f5e-2c1d3a4b5c6d";
const B = "7f1e2d3c-4b5a-4968-8776-655443322110";
const site = (name: string, fsid?: string): Site =>
  ({ name, az: name, store: name, ceph: { cluster: name, transport: { kind: "local" }, ...(fsid ? { fsid } : {}) } }) as Site;

describe("which cluster each site's probe reached", () => {
  test("a pinned fsid that matches is ok; an unpinned one is ok when no other site reached it", () => {
    const r = judgeReach([
      { site: site("central", A), fsid: A, ms: 5 },
      { site: site("dcn0"), fsid: B, ms: 5 },
    ]);
    expect(r.central).toMatchObject({ state: "ok", pinned: true });
    expect(r.dcn0).toMatchObject({ state: "ok", pinned: false });
  });

  test("a probe that reaches another site's cluster is named with both fsids; the other site stays ok", () => {
    const r = judgeReach([
      { site: site("central", A), fsid: A, ms: 5 },
      { site: site("dcn0", B), fsid: A, ms: 5 },
    ]);
    expect(r.central.state).toBe("ok");
    expect(r.dcn0).toMatchObject({ state: "wrong-cluster", fsid: A, expected: B });
    expect(r.dcn0.state !== "ok" && r.dcn0.reason).toContain(
      `reached Ceph cluster ${A} (central's pinned cluster), not dcn0's pinned cluster ${B}`,
    );
  });

  test("two unpinned sites on one cluster are both refused; a site that does not answer is unreachable", () => {
    const r = judgeReach([
      { site: site("dcn0"), fsid: A, ms: 5 },
      { site: site("dcn1"), fsid: A, ms: 5 },
      { site: site("dcn2"), error: "`ceph fsid` did not finish within 30000 ms", ms: 30000 },
    ]);
    expect(r.dcn0.state).toBe("wrong-cluster");
    expect(r.dcn1.state !== "ok" && r.dcn1.reason).toContain("the same cluster as dcn0");
    expect(r.dcn2.state !== "ok" && r.dcn2.reason).toMatch(/did not answer `ceph fsid` within 30\.0 s/);
  });
});

describe("a site the runner has no access to (transport none)", () => {
  test("is not asked, and is reported as having no Ceph access: neither unreachable nor a wrong cluster", async () => {
    const none = (name: string) => ({
      name,
      az: name,
      store: name,
      ceph: { cluster: name, transport: { kind: "none", reason: "external Ceph" } },
    });
    const cfg = configSchema.parse({ ...validConfig(), central: none("central"), edges: [none("dcn0")], timeouts: { cephReach: 1 } });
    const started = Date.now();
    const r = await checkReach(cfg);
    expect(Date.now() - started).toBeLessThan(500);
    expect(r.dcn0).toEqual({ site: "dcn0", state: "no-access", reason: "no Ceph access (ceph.transport.kind none: external Ceph)", ms: 0 });
    expect(isUnreachable(r.dcn0)).toBe(false);
    expect(formatReach(r)).toEqual([
      "[central] no Ceph access (ceph.transport.kind none: external Ceph): not asked; its Ceph checks will be reported as not verified",
      "[dcn0] no Ceph access (ceph.transport.kind none: external Ceph): not asked; its Ceph checks will be reported as not verified",
    ]);
  });
});
