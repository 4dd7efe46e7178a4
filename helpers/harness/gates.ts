import type { KnownIssue } from "../config/schema.ts";

/**
 * What a site's gates read and hold in its summary, and whether a known issue covers a failure (the sites' worker asks
 * it at each failure). The gates are evaluated by the run's judge (helpers/ops/pipeline/judge.ts).
 */

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
