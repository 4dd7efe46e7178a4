import { describe, expect, test } from "vitest";
import { CephCommandError, CephTimeoutError } from "../ceph/probe.ts";
import { classifyFailure, InfrastructureError, ProductDefect } from "./failure-kind.ts";
import { type SiteReach, SiteUnreachableError, type Unreachable } from "./reach.ts";
import { blameUnreachable } from "./suite.ts";

const DOWN: Unreachable = {
  site: "dcn0",
  state: "unreachable",
  reason: "its Ceph cluster dcn0 did not answer `ceph fsid` within 15.0 s: `ceph --cluster dcn0 fsid --format json` timed out",
  ms: 15000,
};
const MOVED: Unreachable = {
  site: "dcn0",
  state: "wrong-cluster",
  fsid: "0b3c9f0e-8a4c-4d7e-9f5e-2c1d3a4b5c6d",
  expected: "7f1e2d3c-4b5a-4968-8776-655443322110",
  reason: "the probe reached Ceph cluster 0b3c9f0e-8a4c-4d7e-9f5e-2c1d3a4b5c6d (central's pinned cluster)",
  ms: 5,
};
const at = (reach: Record<string, SiteReach | undefined>) => ({ unreachable: (s: string) => reach[s] as Unreachable | undefined });
const missing = () =>
  new CephCommandError(
    "dcn0",
    "local",
    "rbd --cluster dcn0 snap ls images/5d1c… --format json",
    2,
    "rbd: error opening image 5d1c…: (2) No such file or directory",
  );

describe("blameUnreachable: only a failure caused by an unreachable site's probe is that site's infrastructure", () => {
  test("a product defect that names an unreachable site and its store stays a product defect", () => {
    const e = new ProductDefect("central", "image 5d1c… is active but not in dcn0, and os_glance_failed_import does not list them");
    expect(blameUnreachable(e, at({ dcn0: DOWN }))).toBe(e);
  });

  test("a failure carrying a SiteUnreachableError as its cause is infrastructure, naming the site and why", () => {
    const e = new Error("copy-image to dcn0 failed", { cause: new SiteUnreachableError(DOWN, "copy-image to dcn0") });
    const blamed = blameUnreachable(e, at({ dcn0: DOWN }));
    expect(blamed).toBeInstanceOf(InfrastructureError);
    expect((blamed as Error).message).toBe(`copy-image to dcn0 failed\n(caused by an unreachable site, dcn0: ${DOWN.reason})`);
    expect((blamed as Error).cause).toBe(e);
  });

  test("a failure caused by a probe error of a tripped site is infrastructure; the same at a reachable site is left as it is", () => {
    const timeout = new CephTimeoutError("dcn0", "local", "rbd --cluster dcn0 -p images ls -l --format json", 60000);
    const e = new Error("reading the copies failed", { cause: timeout });
    expect(classifyFailure(blameUnreachable(e, at({ dcn0: DOWN })))).toBe("infrastructure");
    expect(blameUnreachable(e, at({}))).toBe(e);
    expect(blameUnreachable(e, at({ dcn1: DOWN }))).toBe(e);
  });

  test("an object missing on the site's cluster stays product at a site that later timed out; on another cluster it is infrastructure", () => {
    const e = missing();
    expect(blameUnreachable(e, at({ dcn0: DOWN }))).toBe(e);
    expect(classifyFailure(blameUnreachable(e, at({ dcn0: MOVED })))).toBe("infrastructure");
  });
});
