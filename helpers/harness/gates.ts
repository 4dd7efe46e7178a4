import type { Gate, KnownIssue } from "../config/schema.ts";

export interface GateTest {
  id: string;
  status: "passed" | "failed" | "skipped";
  durationMs: number;
  tier?: string;
  /** Skipped because of the run's tier (its own, or that of a test it builds on). */
  aboveTier?: boolean;
  warnings?: string[];
  notVerified?: string[];
}

/** Per site: what passed, failed, warned, and what was not verified (a skipped test, or a part a test could not look at). */
export function countResults(tests: GateTest[]): { passed: number; failed: number; warnings: number; notVerified: number } {
  return {
    passed: tests.filter((t) => t.status === "passed").length,
    failed: tests.filter((t) => t.status === "failed").length,
    warnings: tests.reduce((n, t) => n + (t.warnings?.length ?? 0), 0),
    notVerified: tests.reduce((n, t) => n + notVerifiedOf(t), 0),
  };
}

const notVerifiedOf = (t: GateTest) => (t.status === "skipped" ? 1 : (t.notVerified?.length ?? 0));

/** What was left not verified by anything but the run's tier: a test the tier kept from running does not count. */
export function notVerifiedInTier(tests: GateTest[]): number {
  return tests.filter((t) => !(t.status === "skipped" && t.aboveTier)).reduce((n, t) => n + notVerifiedOf(t), 0);
}

export interface GateResult {
  name: string;
  ok: boolean;
  detail: string;
}

export interface SiteGates {
  ok: boolean;
  results: GateResult[];
  /** Failed tests a known issue covers: listed, not counted. */
  known: { test: string; reason: string; link: string; expires: string }[];
  /** Failed tests whose known issue has expired: counted again. */
  expired: { test: string; reason: string; link: string; expires: string }[];
}

/** The site's gate: its own entry merged over the default. */
export function gateFor(gates: { default: Gate; sites: Record<string, Gate> }, site: string): Gate {
  return { ...gates.default, ...(gates.sites[site] ?? {}) };
}

export function evaluateGates(
  site: string,
  tests: GateTest[],
  gate: Gate,
  knownIssues: KnownIssue[],
  today = new Date(),
  runTier = "disruptive",
): SiteGates {
  const day = today.toISOString().slice(0, 10);
  const covering = (id: string) => knownIssues.filter((k) => k.test === id && (!k.site || k.site === site));
  const failed = tests.filter((t) => t.status === "failed");
  const known: SiteGates["known"] = [];
  const expired: SiteGates["expired"] = [];
  let counted = 0;
  for (const t of failed) {
    const issues = covering(t.id);
    const live = issues.find((k) => k.expires >= day);
    if (live) {
      known.push({ test: t.id, reason: live.reason, link: live.link, expires: live.expires });
      continue;
    }
    counted++;
    const old = issues[0];
    if (old) expired.push({ test: t.id, reason: old.reason, link: old.link, expires: old.expires });
  }
  const executed = tests.filter((t) => t.status !== "skipped").length;
  const durationS = tests.reduce((a, t) => a + t.durationMs, 0) / 1000;
  const results: GateResult[] = [];
  if (gate.maxFailures !== undefined) {
    results.push({
      name: "maxFailures",
      ok: counted <= gate.maxFailures,
      detail: `${counted} failed (at most ${gate.maxFailures})${known.length ? `; ${known.length} more covered by known issues` : ""}`,
    });
  }
  if (gate.minTests !== undefined)
    results.push({ name: "minTests", ok: executed >= gate.minTests, detail: `${executed} executed (at least ${gate.minTests})` });
  if (gate.maxDurationS !== undefined)
    results.push({
      name: "maxDurationS",
      ok: durationS <= gate.maxDurationS,
      detail: `${durationS.toFixed(1)} s (at most ${gate.maxDurationS} s)`,
    });
  const counts = countResults(tests);
  if (gate.maxWarnings !== undefined)
    results.push({
      name: "maxWarnings",
      ok: counts.warnings <= gate.maxWarnings,
      detail: `${counts.warnings} warning(s) (at most ${gate.maxWarnings})`,
    });
  if (gate.maxNotVerified !== undefined)
    results.push({
      name: "maxNotVerified",
      ok: counts.notVerified <= gate.maxNotVerified,
      detail: `${counts.notVerified} not verified (at most ${gate.maxNotVerified})`,
    });
  if (gate.maxNotVerifiedInTier !== undefined) {
    const n = notVerifiedInTier(tests);
    results.push({
      name: "maxNotVerifiedInTier",
      ok: n <= gate.maxNotVerifiedInTier,
      detail: `${n} not verified within tier ${runTier} (at most ${gate.maxNotVerifiedInTier}; tests above the tier not counted)`,
    });
  }
  return { ok: results.every((r) => r.ok), results, known, expired };
}
