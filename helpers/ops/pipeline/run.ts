import { rmSync } from "node:fs";
import type { Config } from "../../config/schema.ts";
import { listenCloudWait } from "../../core/cloud-wait.ts";
import type { RunSummary, SiteSummary, SweepLeftover } from "../../harness/model.ts";
import type { RbdScan } from "../../harness/rbd-leftovers.ts";
import type { Selection } from "../selection.ts";
import { execute, type Executed } from "./execute.ts";
import { judge } from "./judge.ts";
import { preflight } from "./preflight.ts";
import { type CanaryRun, cloudOf, type Prepared, prepare, release } from "./prepare.ts";
import { publish, SiteReports } from "./publish.ts";
import { rbdLeftovers, sweep } from "./sweep.ts";

export interface RunOutcome {
  exitCode: number;
  runDir: string;
  summary?: RunSummary;
  /** Sweep failures: resources that would not delete. */
  leftovers: SweepLeftover[];
  /** rbd images of what the run deleted, still in a site's pools. */
  rbd?: RbdScan;
}

/**
 * A run, stage by stage: prepare (the cloud, the clusters, the run's folder), preflight, execute (every site in one
 * vitest worker), sweep (what the journal still lists, then the pools for rbd leftovers), judge, publish (summary.json,
 * JUnit, one Allure report per site, the fleet page). docs/architecture.md draws it.
 */
export async function runVerification(
  cfg: Config,
  configPath: string,
  sel: Selection,
  o: { reportsRoot: string; log: (line: string) => void; verbose?: boolean; html?: boolean; canary?: CanaryRun },
): Promise<RunOutcome> {
  const { log } = o;
  const prep = await prepare(cfg, configPath, sel, o);
  if (!("info" in prep)) return { ...prep, leftovers: [] };
  const { runDir, runId } = prep.info;
  if (!(await preflight(cfg, sel, prep, log))) {
    await release(prep);
    return { exitCode: 2, runDir, leftovers: [] };
  }

  const siteReports = new SiteReports(cfg, prep.clients, runDir, o.reportsRoot, runId, o.html ?? true);
  const cloudWait = listenCloudWait();
  const executed = await execute(prep, {
    maxParallel: sel.maxParallel,
    verbose: o.verbose,
    siteDone: (site) => void siteReports.begin(site),
    log,
  });

  const ran = prep.plan.map((p) => p.site);
  // NOTE: the sites whose suites did not all end (an interrupted run) have their results once vitest has closed; their
  // reports are built while the sweep waits on the cloud.
  const reports = siteReports.finish(ran);
  reports.catch(() => undefined);
  const leftovers = await sweep(prep.clients, cfg, prep.journal);
  rmSync(prep.info.workDir, { recursive: true, force: true });
  const rbd = await rbdLeftovers(cfg, prep.journal, log, prep.info.reach);

  const summary = summarize(cfg, sel, prep, executed, rbd, leftovers);
  cloudWait.record(summary.sites);
  const verdict = judge(summary, { gating: { cfg, sel }, swept: leftovers });
  await publish({ runDir, reportsRoot: o.reportsRoot, summary, siteReports: reports, log });
  return { exitCode: verdict.ok ? 0 : 1, runDir, summary, leftovers, rbd };
}

/** The run's summary before its judge: each site that was to run (one whose suite did not run, failed), in selection order. */
function summarize(cfg: Config, sel: Selection, prep: Prepared, executed: Executed, rbd: RbdScan, leftovers: SweepLeftover[]): RunSummary {
  const sites: SiteSummary[] = executed.sites;
  for (const { site } of prep.plan)
    if (!sites.some((s) => s.site === site)) sites.push({ site, status: "failed", tests: [], errors: ["the site's suite did not run"] });
  sites.sort((a, b) => sel.sites.indexOf(a.site) - sel.sites.indexOf(b.site));
  for (const s of sites) s.ceph = prep.info.reach?.[s.site];
  return {
    runId: prep.info.runId,
    ...(sel.group ? { group: sel.group } : {}),
    ...(sel.shard ? { shard: sel.shard, configSites: [cfg.central.name, ...cfg.edges.map((e) => e.name)] } : {}),
    cloud: cloudOf(prep.clients),
    tier: sel.tier,
    suites: sel.suites,
    startedAt: prep.info.startedAt,
    finishedAt: new Date().toISOString(),
    ...(prep.firstRequestAt ? { firstRequestAt: new Date(prep.firstRequestAt).toISOString() } : {}),
    interrupted: executed.interrupted,
    sites,
    rbdLeftovers: rbd.found,
    rbdNotChecked: rbd.notChecked,
    selection: {
      sites: sel.sites,
      ...(sel.sitesAsked ? { sitesAsked: sel.sitesAsked } : {}),
      ...(sel.tests ? { tests: sel.tests } : {}),
      strict: Boolean(sel.strict),
      tierGiven: Boolean(sel.tierGiven),
    },
    ...(process.env.DCN_VERIFY_OVERLAY ? { overlay: process.env.DCN_VERIFY_OVERLAY } : {}),
    sweepLeftovers: leftovers,
  };
}
