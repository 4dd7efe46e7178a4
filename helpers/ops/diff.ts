import type { RunSummary, TestSummary } from "../harness/model.ts";

export type Change = "new" | "removed" | "fixed" | "regressed" | "still failing" | "still passing" | "skipped";

export interface TestDiff {
  site: string;
  id: string;
  change: Change;
  before?: TestSummary["status"];
  after?: TestSummary["status"];
  durationMsBefore?: number;
  durationMsAfter?: number;
  durationMsDelta?: number;
}

export interface RunDiff {
  runA: string;
  runB: string;
  tests: TestDiff[];
  regressions: number;
}

export class DiffError extends Error {}

function change(a: TestSummary | undefined, b: TestSummary | undefined): Change {
  if (!a) return "new";
  if (!b) return "removed";
  if (a.status === "skipped" || b.status === "skipped") return "skipped";
  if (a.status === "passed") return b.status === "passed" ? "still passing" : "regressed";
  return b.status === "passed" ? "fixed" : "still failing";
}

export function diffRuns(a: RunSummary, b: RunSummary): RunDiff {
  if (a.cloud && b.cloud && (a.cloud.authUrl !== b.cloud.authUrl || a.cloud.region !== b.cloud.region)) {
    throw new DiffError(
      `runs ${a.runId} and ${b.runId} are of different clouds (${a.cloud.authUrl} region ${a.cloud.region || "-"} vs ${b.cloud.authUrl} region ${b.cloud.region || "-"}): ` +
        "diff compares one cloud before and after a change",
    );
  }
  const tests: TestDiff[] = [];
  const sites = [...new Set([...a.sites.map((s) => s.site), ...b.sites.map((s) => s.site)])];
  for (const site of sites) {
    const ta = a.sites.find((s) => s.site === site)?.tests ?? [];
    const tb = b.sites.find((s) => s.site === site)?.tests ?? [];
    const ids = [...new Set([...ta.map((t) => t.id), ...tb.map((t) => t.id)])];
    for (const id of ids) {
      const x = ta.find((t) => t.id === id);
      const y = tb.find((t) => t.id === id);
      tests.push({
        site,
        id,
        change: change(x, y),
        before: x?.status,
        after: y?.status,
        durationMsBefore: x?.durationMs,
        durationMsAfter: y?.durationMs,
        ...(x && y ? { durationMsDelta: y.durationMs - x.durationMs } : {}),
      });
    }
  }
  return { runA: a.runId, runB: b.runId, tests, regressions: tests.filter((t) => t.change === "regressed").length };
}

const secs = (ms: number | undefined) => (ms === undefined ? "-" : `${(ms / 1000).toFixed(1)} s`);

export function formatDiff(d: RunDiff): string {
  const rows = [["site", "test", "change", "before", "after", "time before", "time after", "delta"]];
  for (const t of d.tests) {
    const delta = t.durationMsDelta === undefined ? "-" : `${t.durationMsDelta >= 0 ? "+" : ""}${(t.durationMsDelta / 1000).toFixed(1)} s`;
    rows.push([
      t.site,
      t.id,
      t.change === "regressed" ? "REGRESSED" : t.change,
      t.before ?? "-",
      t.after ?? "-",
      secs(t.durationMsBefore),
      secs(t.durationMsAfter),
      delta,
    ]);
  }
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const count = (c: Change) => d.tests.filter((t) => t.change === c).length;
  return [
    `${d.runA} -> ${d.runB}`,
    ...rows.map((r) =>
      r
        .map((c, i) => c.padEnd(w[i]!))
        .join("  ")
        .trimEnd(),
    ),
    `regressed ${count("regressed")}, fixed ${count("fixed")}, still failing ${count("still failing")}, new ${count("new")}, removed ${count("removed")}`,
  ].join("\n");
}
