import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { RunSummary, SiteSummary } from "../harness/model.ts";
import { newRunId } from "../harness/naming.ts";
import { findRun, RunRecordError } from "../harness/run-record.ts";
import { judge } from "./pipeline/judge.ts";
import { publish } from "./pipeline/publish.ts";

export class MergeError extends Error {}

export interface MergeOutcome {
  runDir: string;
  summary: RunSummary;
  exitCode: number;
}

interface ShardRun {
  dir: string;
  s: RunSummary;
}

function readShard(ref: string, reportsRoot: string): ShardRun {
  let run: { dir: string; summary: RunSummary };
  try {
    run = findRun(ref, reportsRoot);
  } catch (e) {
    if (e instanceof RunRecordError) throw new MergeError(e.message);
    throw e;
  }
  const { dir, summary: s } = run;
  if (!s.shard || !s.group) throw new MergeError(`${dir}: run ${s.runId} is not a shard (it was not run with --shard I/N --group ID)`);
  return { dir, s };
}

/** What makes the shards one run: one group, one cloud, one selection, and every shard of 1..n exactly once. */
function checkShards(shards: ShardRun[]): void {
  const differ = (what: string, key: (s: RunSummary) => string) => {
    const values = [...new Set(shards.map((x) => key(x.s)))];
    if (values.length > 1)
      throw new MergeError(`the shards differ in ${what}: ${shards.map((x) => `${x.s.runId} has ${key(x.s) || "(none)"}`).join(", ")}`);
  };
  differ("run group", (s) => s.group ?? "");
  differ("shard count", (s) => String(s.shard!.count));
  differ("cloud", (s) => (s.cloud ? `${s.cloud.authUrl} region ${s.cloud.region || "-"}` : ""));
  differ("tier", (s) => s.tier ?? "");
  differ("suites", (s) => (s.suites ?? []).join(","));
  differ("the config's sites", (s) => (s.configSites ?? []).join(","));
  const n = shards[0]!.s.shard!.count;
  const seen = new Map<number, string>();
  for (const { s } of shards) {
    const other = seen.get(s.shard!.index);
    if (other) throw new MergeError(`shard ${s.shard!.index}/${n} is given twice: runs ${other} and ${s.runId}`);
    seen.set(s.shard!.index, s.runId);
  }
  const missing = Array.from({ length: n }, (_, i) => i + 1).filter((i) => !seen.has(i));
  if (missing.length)
    throw new MergeError(`shard(s) ${missing.map((i) => `${i}/${n}`).join(", ")} of group ${shards[0]!.s.group} not given`);
  const where = new Map<string, string>();
  for (const { s } of shards)
    for (const site of s.sites) {
      const other = where.get(site.site);
      if (other) throw new MergeError(`site ${site.site} is in two shards: runs ${other} and ${s.runId}`);
      where.set(site.site, s.runId);
    }
  const old = shards.filter((x) => !x.s.selection);
  if (old.length)
    throw new MergeError(
      `run(s) ${old.map((x) => x.s.runId).join(", ")} record no selection (an older dcn-verify): whether the shards cover the run cannot be told`,
    );
  const sel = (s: RunSummary) => {
    const { sites: _share, ...rest } = s.selection!;
    return JSON.stringify({
      sitesAsked: rest.sitesAsked ?? "every site",
      tests: rest.tests ?? "every test",
      strict: rest.strict,
      tierGiven: rest.tierGiven,
    });
  };
  differ("selection (--sites, --tests, --strict, --tier)", sel);
  const covered = new Set(shards.flatMap((x) => x.s.selection!.sites));
  const uncovered = (shards[0]!.s.configSites ?? []).filter((site) => !covered.has(site));
  if (uncovered.length)
    throw new MergeError(
      `the shards do not cover the run: no shard selected ${uncovered.join(", ")}` +
        (shards[0]!.s.selection!.sitesAsked ? ` (the shards were run with --sites ${shards[0]!.s.selection!.sitesAsked.join(",")})` : ""),
    );
}

/** The lines of a shard's per-site history (Allure's) that the merged run's reports folder does not hold yet. */
function carryHistory(fromRoot: string, toRoot: string, site: string): void {
  if (resolve(fromRoot) === resolve(toRoot)) return;
  const from = join(fromRoot, "history", `${site}.jsonl`);
  if (!existsSync(from)) return;
  const to = join(toRoot, "history", `${site}.jsonl`);
  mkdirSync(dirname(to), { recursive: true });
  const have = new Set(existsSync(to) ? readFileSync(to, "utf8").split("\n").filter(Boolean) : []);
  const add = readFileSync(from, "utf8")
    .split("\n")
    .filter((l) => l && !have.has(l));
  if (add.length) appendFileSync(to, `${add.join("\n")}\n`);
}

/**
 * Joins the run directories of a sharded run's shards into one run directory under reportsRoot: each site's
 * report and Allure results, one summary.json (the sites in the config's order), JUnit, the fleet page and the
 * sites' history, as one unsharded run writes them: the run's own judge and publish, each site's gates as its shard
 * evaluated them.
 */
export async function mergeShards(
  refs: string[],
  reportsRoot: string,
  log: (line: string) => void = () => undefined,
): Promise<MergeOutcome> {
  if (!refs.length) throw new MergeError("give the run directories of the shards to merge");
  const shards = refs.map((ref) => readShard(ref, reportsRoot)).sort((a, b) => a.s.shard!.index - b.s.shard!.index);
  checkShards(shards);
  const order = shards[0]!.s.configSites ?? [];
  const rank = (site: string) => (order.includes(site) ? order.indexOf(site) : order.length);
  const placed: { site: SiteSummary; from: ShardRun }[] = shards
    .flatMap((from) => from.s.sites.map((site) => ({ site, from })))
    .sort((a, b) => rank(a.site.site) - rank(b.site.site));
  const runId = newRunId();
  const runDir = join(resolve(reportsRoot), runId);
  mkdirSync(runDir, { recursive: true });
  for (const { site, from } of placed) {
    const dir = join(from.dir, site.site);
    if (existsSync(dir)) cpSync(dir, join(runDir, site.site), { recursive: true });
    carryHistory(dirname(from.dir), reportsRoot, site.site);
  }
  const first = shards[0]!.s;
  const leftBehind = shards.flatMap((x) => x.s.leftBehind ?? []);
  const firstRequestAt = shards.flatMap((x) => x.s.firstRequestAt ?? []).sort()[0];
  const summary: RunSummary = {
    runId,
    group: first.group!,
    shards: shards.map((x) => x.s.runId),
    ...(first.cloud ? { cloud: first.cloud } : {}),
    ...(first.tier ? { tier: first.tier } : {}),
    ...(first.suites ? { suites: first.suites } : {}),
    startedAt: shards.map((x) => x.s.startedAt).sort()[0]!,
    finishedAt: shards
      .map((x) => x.s.finishedAt)
      .sort()
      .at(-1)!,
    ...(firstRequestAt ? { firstRequestAt } : {}),
    interrupted: shards.some((x) => x.s.interrupted),
    sites: placed.map((p) => p.site),
    rbdLeftovers: shards.flatMap((x) => x.s.rbdLeftovers ?? []),
    rbdNotChecked: shards.flatMap((x) => x.s.rbdNotChecked ?? []),
    selection: { ...first.selection!, sites: order.filter((site) => shards.some((x) => x.s.selection!.sites.includes(site))) },
    ...(leftBehind.length ? { leftBehind } : {}),
    ...(first.overlay ? { overlay: first.overlay } : {}),
    sweepLeftovers: shards.flatMap((x) => x.s.sweepLeftovers ?? []),
  };
  const verdict = judge(summary);
  await publish({ runDir, reportsRoot, summary, log });
  return { runDir, summary, exitCode: verdict.ok ? 0 : 1 };
}
