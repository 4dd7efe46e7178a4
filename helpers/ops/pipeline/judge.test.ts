import { describe, expect, test } from "vitest";
import type { RunSummary, SiteSummary, SweepLeftover } from "../../harness/model.ts";
import { judge } from "./judge.ts";
import { formatSweepLeftover } from "./sweep.ts";

const site = (name: string): SiteSummary => ({
  site: name,
  status: "passed",
  tests: [{ id: "dcn-1-stores", title: "1. stores", status: "passed", durationMs: 10 }],
  errors: [],
});

const run = (sites: SiteSummary[]): RunSummary => ({
  runId: "20261201t100000-aaaa",
  startedAt: "2026-12-01T10:00:00.000Z",
  finishedAt: "2026-12-01T10:10:00.000Z",
  interrupted: false,
  sites,
});

const gating = {
  cfg: { gates: { default: {}, sites: {} }, knownIssues: [] },
  sel: { tier: "standard" as const, tierGiven: false, strict: false },
};

describe("the judge", () => {
  test("writes each sweep leftover into its own site's cleanup, by the site's name, and fails that site only", () => {
    const swept: SweepLeftover[] = [
      { site: "dcn1", kind: "volume", id: "v1", name: "dcnv-dcn1-volume", reason: "HTTP 500" },
      // A site whose name another's starts with gets none of its leftovers.
      { site: "dcn10", kind: "image", id: "i1", reason: "HTTP 409" },
    ];
    const summary = run([site("dcn1"), site("dcn10"), site("central")]);
    const verdict = judge(summary, { gating, swept });
    expect(summary.sites.map((s) => s.cleanup)).toEqual([
      ["the run's sweep could not delete volume dcnv-dcn1-volume (v1) at dcn1: HTTP 500"],
      ["the run's sweep could not delete image (i1) at dcn10: HTTP 409"],
      [],
    ]);
    expect(summary.sites.map((s) => s.verdict?.ok)).toEqual([false, false, true]);
    expect(verdict.ok).toBe(false);
    expect(summary.leftBehind).toBeUndefined();
  });

  test("a leftover of a site that has no summary is the run's leftBehind, and fails the run", () => {
    const summary = run([site("central")]);
    const verdict = judge(summary, { gating, swept: [{ site: "dcn9", kind: "volume", id: "v", name: "v", reason: "HTTP 500" }] });
    expect(summary.leftBehind).toEqual(["the run's sweep could not delete volume v (v) at dcn9: HTTP 500"]);
    expect(verdict.reasons).toEqual(["left behind: the run's sweep could not delete volume v (v) at dcn9: HTTP 500"]);
  });

  test("without gating (a merged run) keeps each site's gates and counts, and judges the same", () => {
    const s = {
      ...site("dcn0"),
      gates: { ok: true, results: [], known: [], expired: [] },
      counts: { passed: 1, failed: 0, warnings: 0, notVerified: 0 },
    };
    const summary = run([s]);
    expect(judge(summary).ok).toBe(true);
    expect(summary.sites[0]!.gates).toBe(s.gates);
    expect(summary.sites[0]!.cleanup).toEqual([]);
  });

  test("a leftover reads as it always did: kind, name, id, site and why", () => {
    expect(formatSweepLeftover({ site: "dcn0", kind: "server", id: "s1", name: "dcnv-s", reason: "timed out" })).toBe(
      "server dcnv-s (s1) at dcn0: timed out",
    );
  });
});
