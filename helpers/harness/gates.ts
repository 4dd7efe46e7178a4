import type { Gate, KnownIssue } from "../config/schema.ts";

export interface GateTest {
  id: string;
  status: "passed" | "failed" | "skipped";
  failure?: string;
  failureKind?: string;
  durationMs: number;
  tier?: string;
  /** Skipped because of the run's tier (its own, or that of a test it builds on). */
  aboveTier?: boolean;
  warnings?: string[];
  notVerified?: string[];
}

/** Per site: what passed, failed, warned, and what was not verified (a skipped test, or a part a test could not look at). */
export function countResults(
  tests: GateTest[],
  /** Not verified outside any test: the site's pools the rbd leftover scan could not list. */
  outside = 0,
): { passed: number; failed: number; warnings: number; notVerified: number } {
  return {
    passed: tests.filter((t) => t.status === "passed").length,
    failed: tests.filter((t) => t.status === "failed").length,
    warnings: tests.reduce((n, t) => n + (t.warnings?.length ?? 0), 0),
    notVerified: tests.reduce((n, t) => n + notVerifiedOf(t), outside),
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

/** A failed test and the known issue that covers (or covered) it, with the failure's own message. */
export interface KnownFailure {
  test: string;
  reason: string;
  link: string;
  expires: string;
  /** The covered failure's message, first line. */
  message: string;
  category?: string;
}

export interface SiteGates {
  ok: boolean;
  results: GateResult[];
  /** Failed tests a live known issue covers (its pattern matches the failure, and its category if it names one): listed, not counted. */
  known: KnownFailure[];
  /** Failed tests whose known issue has expired: counted again. */
  expired: KnownFailure[];
}

/** Whether a known issue covers this failure: same test, its site (or every site), its pattern and its category. */
export function covers(k: KnownIssue, site: string, t: Pick<GateTest, "id" | "failure" | "failureKind">): boolean {
  if (k.test !== t.id || (k.site && k.site !== site)) return false;
  if (k.category && k.category !== t.failureKind) return false;
  return new RegExp(k.match, "i").test(t.failure ?? "");
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
  /** Not verified outside any test (pools the rbd leftover scan could not list): counted by both not-verified gates. */
  notVerifiedOutside = 0,
): SiteGates {
  const day = today.toISOString().slice(0, 10);
  const failed = tests.filter((t) => t.status === "failed");
  const known: KnownFailure[] = [];
  const expired: KnownFailure[] = [];
  let counted = 0;
  for (const t of failed) {
    const issues = knownIssues.filter((k) => covers(k, site, t));
    const entry = (k: KnownIssue): KnownFailure => ({
      test: t.id,
      reason: k.reason,
      link: k.link,
      expires: k.expires,
      message: (t.failure ?? "").split("\n")[0]!,
      ...(t.failureKind ? { category: t.failureKind } : {}),
    });
    const live = issues.find((k) => k.expires >= day);
    if (live) {
      known.push(entry(live));
      continue;
    }
    counted++;
    const old = issues[0];
    if (old) expired.push(entry(old));
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
  const counts = countResults(tests, notVerifiedOutside);
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
    const n = notVerifiedInTier(tests) + notVerifiedOutside;
    results.push({
      name: "maxNotVerifiedInTier",
      ok: n <= gate.maxNotVerifiedInTier,
      detail: `${n} not verified within tier ${runTier} (at most ${gate.maxNotVerifiedInTier}; tests above the tier not counted)`,
    });
  }
  return { ok: results.every((r) => r.ok), results, known, expired };
}
