import type { KnownFailure } from "./gates.ts";
import type { RunSummary, SiteSummary, Verdict } from "./model.ts";
import { formatRbdLeftover } from "./rbd-leftovers.ts";

/**
 * A site's verdict. A failed test that no live known issue covers fails the site, whatever its gates say; so do
 * its setup errors, what its cleanup left behind, no test run at all, and each gate not met. Gates only add
 * reasons to fail.
 */
export function judgeSite(s: SiteSummary): Verdict {
  const reasons: string[] = [];
  const known = new Set((s.gates?.known ?? []).map((k: KnownFailure) => k.test));
  const counted = s.tests.filter((t) => t.status === "failed" && !known.has(t.id));
  if (counted.length) reasons.push(`${counted.length} failed test(s) no known issue covers: ${counted.map((t) => t.id).join(", ")}`);
  if (s.tests.length === 0) reasons.push("no test ran");
  for (const e of s.errors) reasons.push(`error: ${e.split("\n")[0]}`);
  for (const c of s.cleanup ?? []) reasons.push(`left behind: ${c.split("\n")[0]}`);
  if (!s.gates) reasons.push("its gates were not evaluated");
  for (const g of s.gates?.results.filter((r) => !r.ok) ?? []) reasons.push(`gate ${g.name} not met: ${g.detail}`);
  return { ok: reasons.length === 0, reasons };
}

/**
 * The run's verdict, and so the exit code of run and merge: every site's verdict holds, the run was not
 * interrupted and left no rbd image behind. Each site's verdict is written into the summary.
 */
export function judgeRun(summary: RunSummary): Verdict {
  const reasons: string[] = [];
  if (summary.sites.length === 0) reasons.push("no site ran");
  for (const s of summary.sites) {
    s.verdict = judgeSite(s);
    if (!s.verdict.ok) reasons.push(`${s.site}: ${s.verdict.reasons.join("; ")}`);
  }
  if (summary.interrupted) reasons.push("the run was interrupted");
  for (const r of summary.rbdLeftovers ?? []) reasons.push(`${r.site}: ${formatRbdLeftover(r)}`);
  for (const l of summary.leftBehind ?? []) reasons.push(`left behind: ${l}`);
  summary.verdict = { ok: reasons.length === 0, reasons };
  return summary.verdict;
}
