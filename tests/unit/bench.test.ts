import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { type BenchResults, parseManual, type RunFigures, rowsOf, siteFigures, tableOf } from "../../bench/table.ts";
import type { RunSummary } from "../../helpers/harness/model.ts";
import { PACKAGE_ROOT } from "../../helpers/core/package-root.ts";

const RUNBOOK = `CHECK ok [central] central is the default store
CHECK ok [central] store dcn0 is listed
CHECK ok [central] store dcn1 is listed
TIME central 9
CHECK ok [dcn0] the dcn0 location is on dcn0's cluster
CHECK FAIL [dcn0] the uploaded image is in store dcn0 only
OUTCOME [dcn0] the server image carries no data; Glance refused copy-image of it: 400 Bad Request
TIME edge dcn0 80
CHECK ok [dcn1] the dcn1 location is on dcn1's cluster
TIME edge dcn1 85
TIME cleanup central 3
CHECKS 6 FAILED 1
`;

function twoEdges(o: Partial<RunFigures> = {}): RunFigures {
  return {
    wallS: 120,
    cpuS: 15,
    maxRssMB: 240,
    exitCode: 0,
    stdout: "",
    stderr: "",
    edges: 2,
    args: [],
    passed: true,
    checksPerSite: { central: 13, dcn0: 43, dcn1: 43 },
    waitedSPerSite: {},
    siteTimeS: {},
    siteWallS: { central: 10, dcn0: 100, dcn1: 110 },
    cloudWaitS: { central: 9.8, dcn0: 96, dcn1: 104.5 },
    runDir: "/tmp/x",
    ...o,
  };
}

function results(two = twoEdges()): BenchResults {
  const manual = parseManual(RUNBOOK);
  return {
    baseline: { wallS: 180, cpuS: 90, maxRssMB: 90, exitCode: 1, stdout: "", stderr: "", edges: ["dcn0", "dcn1"], oneEdgeS: 92, ...manual },
    twoEdges: two,
    sharded: { wallS: 150, cpuS: 20, maxRssMB: 230, sameVerdicts: true },
    scaling: [],
    polling: {
      trials: 40,
      harness: { medianS: 0.3, p95S: 0.6 },
      harnessImport: { medianS: 0.3, p95S: 0.5 },
      watch2s: { medianS: 1, p95S: 2 },
    },
  };
}

describe("the bench's figures", () => {
  test("the runbook's output: checks per site, each part's seconds, the totals", () => {
    expect(parseManual(RUNBOOK)).toEqual({
      checks: 6,
      failed: 1,
      checksPerSite: { central: 3, dcn0: 2, dcn1: 1 },
      partS: { central: 9, "edge dcn0": 80, "edge dcn1": 85, "cleanup central": 3 },
    });
  });

  test("a site's wall time and cloud wait come from summary.json", () => {
    const summary = {
      sites: [
        { site: "central", startedAt: "2026-12-07T03:00:00.000Z", finishedAt: "2026-12-07T03:00:10.500Z", cloudWaitMs: 9876 },
        { site: "dcn0", startedAt: "2026-12-07T03:00:00.000Z", finishedAt: "2026-12-07T03:01:40.000Z" },
      ],
    } as unknown as RunSummary;
    expect(siteFigures(summary)).toEqual({ siteWallS: { central: 10.5, dcn0: 100 }, cloudWaitS: { central: 9.88 } });
  });

  test("a row named 'equal work' compares the 2-edge run with the runbook over the same edges, and one 'overhead (%)' row per site", () => {
    const rows = rowsOf(results());
    const equal = rows.filter((r) => r.figure.includes("equal work"));
    expect(equal).toHaveLength(1);
    expect(equal[0]).toMatchObject({ measured: 0.67, target: "<= 1.0", met: true });
    const overhead = rows.filter((r) => r.figure.includes("overhead (%)"));
    expect(overhead.map((r) => [r.figure.split(":")[0], r.measured, r.met])).toEqual([
      ["central", 2, true],
      ["dcn0", 4, true],
      ["dcn1", 5, true],
    ]);
    expect(rows.find((r) => r.figure === "manual runbook: checks that failed")).toMatchObject({ measured: 1, met: false });
    expect(rows.find((r) => r.figure.includes("manual wall (1 edge)"))).toMatchObject({ measured: 1.3 });
    expect(rows.find((r) => r.figure.startsWith("checks: dcn-verify (2 edges"))).toMatchObject({ measured: 99 / 5 });
  });

  test("the printed table's first column carries the figures' words; a run without cloudWaitMs has no overhead rows", () => {
    const table = tableOf(rowsOf(results()));
    const first = table.split("\n").map((l) => l.split("|")[1]?.trim() ?? "");
    expect(first[0]).toBe("figure");
    expect(first.some((c) => c.includes("equal work"))).toBe(true);
    expect(first.filter((c) => c.includes("overhead (%)"))).toHaveLength(3);
    expect(rowsOf(results(twoEdges({ cloudWaitS: {} }))).some((r) => r.figure.includes("overhead (%)"))).toBe(false);
  });

  test("bench/results/latest.json renders; measured by this bench, it names the equal work and each site's overhead", () => {
    const saved = JSON.parse(readFileSync(join(PACKAGE_ROOT, "bench", "results", "latest.json"), "utf8")) as BenchResults;
    const rows = rowsOf(saved);
    expect(rows.length).toBeGreaterThan(0);
    if (saved.baseline.edges) {
      expect(saved.rows?.some((r) => r.figure.includes("equal work"))).toBe(true);
      expect(saved.rows?.filter((r) => r.figure.includes("overhead (%)")).length).toBe(saved.twoEdges.edges + 1);
    }
  });
});
