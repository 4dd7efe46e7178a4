import type { Config, Gate, KnownIssue } from "../../config/schema.ts";
import {
  countResults,
  covers,
  type GateResult,
  type GateTest,
  type KnownFailure,
  notVerifiedInTier,
  type SiteGates,
} from "../../harness/gates.ts";
import type { RunSummary, SiteSummary, SweepLeftover, Verdict } from "../../harness/model.ts";
import { formatRbdLeftover } from "../../harness/rbd-leftovers.ts";
import type { Selection } from "../selection.ts";
import { formatSweepLeftover } from "./sweep.ts";

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

/** The pools of this site the rbd leftover scan could not list: each counts as not verified there. */
export const rbdNotCheckedAt = (summary: Pick<RunSummary, "rbdNotChecked">, site: string): number =>
  (summary.rbdNotChecked ?? []).filter((n) => n.site === site).length;

/** What a run's own judge reads beyond its summary: its config's gates and known issues, and how it was selected. */
export interface Gating {
  cfg: Pick<Config, "gates" | "knownIssues">;
  sel: Pick<Selection, "tier" | "tierGiven" | "strict">;
  today?: Date;
}

/**
 * The judge of run and merge: each site's gates, counts and verdict, then the run's verdict, the exit code's. A run
 * evaluates its sites' gates from its config (gating); a merged run keeps each shard's. swept: the sweep's leftovers
 * not yet in the summary (a run's own; a merged run's shards hold theirs), written into their site's cleanup, or
 * leftBehind for a site that has no summary.
 */
export function judge(summary: RunSummary, o: { gating?: Gating; swept?: readonly SweepLeftover[] } = {}): Verdict {
  for (const s of summary.sites) s.cleanup ??= [];
  const orphans: string[] = [];
  for (const l of o.swept ?? []) {
    const line = `the run's sweep could not delete ${formatSweepLeftover(l)}`;
    const at = summary.sites.find((s) => s.site === l.site);
    if (at) at.cleanup!.push(line);
    else orphans.push(line);
  }
  // NOTE: a sweep leftover of a site that has no summary still fails the run, and merge and JUnit see it.
  if (orphans.length) summary.leftBehind = [...(summary.leftBehind ?? []), ...orphans];
  for (const s of summary.sites) {
    const notChecked = rbdNotCheckedAt(summary, s.site);
    if (o.gating) {
      const { cfg, sel } = o.gating;
      const gate = {
        ...(sel.tierGiven ? { maxNotVerifiedInTier: 0 } : {}),
        ...gateFor(cfg.gates, s.site),
        ...(sel.strict ? { maxWarnings: 0, maxNotVerified: 0 } : {}),
      };
      s.gates = evaluateGates(s.site, s.tests, gate, cfg.knownIssues, o.gating.today ?? new Date(), sel.tier, notChecked);
      s.counts = countResults(s.tests, notChecked);
    } else s.counts ??= countResults(s.tests, notChecked);
  }
  return judgeRun(summary);
}
