import { DEFAULT_MAX_PARALLEL } from "./selection.ts";

export { DEFAULT_MAX_PARALLEL };
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { setFlagsFromString } from "node:v8";
import { join } from "node:path";
import { createCephProbe, hasCephAccess } from "../ceph/probe.ts";
import { type Clients, openSiteClients } from "../clients/index.ts";
import { allSites } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { timing } from "../config/timing.ts";
import { limiter, settleAll } from "../core/concurrency.ts";
import { dependencyModule, PACKAGE_ROOT, userCacheDir } from "../core/package-root.ts";
import { onRequest } from "../core/http.ts";
import { redactText } from "../core/redact.ts";
import { type ImageServer, startImageServer } from "../images/server.ts";
import { formatChecks } from "../ops/doctor.ts";
import { preflightChecks } from "../ops/preflight.ts";
import { notApplicable, roleOf, SITES_ENTRY, suiteGroupsAt, testsAt, tierAllows } from "./catalog.ts";
import { ConfigError } from "../config/load.ts";
import { judgeRun } from "./judge.ts";
import { countResults, evaluateGates, gateFor } from "./gates.ts";
import type { RunInfo, RunSummary, SitePlan, SiteSummary } from "./model.ts";
import { newRunId } from "./naming.ts";
import { formatRbdLeftover, type RbdScan, scanRbdLeftovers } from "./rbd-leftovers.ts";
import { PerSiteAllureReporter } from "./allure-per-site.ts";
import { AllureResultsBySite, ReportGenerator, writeEnvironment } from "./report.ts";
import { writeFleetPage } from "./fleet.ts";
import { junitXml } from "./junit.ts";
import { checkReach, formatReach, type Reach } from "./reach.ts";
import { LiveProgress } from "./progress.ts";
import { RunReporter } from "./reporter.ts";
import { deleteAll, ResourceJournal } from "./resources.ts";
import type { Selection } from "./selection.ts";
import type { CanaryManifest } from "./canary.ts";

/** Scratch space for image files, outside reports/; the run removes it at its end. */
export function runWorkDir(runId: string): string {
  return join(tmpdir(), `dcn-verify-${runId}`);
}

function testTimeoutMs(cfg: Config): number {
  const t = cfg.timeouts;
  return (
    (t.imageActive * 3 +
      t.copyImage * 3 +
      t.volumeAvailable * 3 +
      t.volumeUpload +
      t.serverActive * 2 +
      t.serverStopped +
      t.snapshotAvailable +
      t.request * 10) *
    1000
  );
}

/** What the sweep could not delete: the site it belongs to, and a line naming it and why. */
export interface SweepLeftover {
  site: string;
  text: string;
}

/** Deletes, newest first, whatever the run's journal says was created and not deleted; returns what would not go. */
export async function sweep(clients: Clients, cfg: Config, journal: ResourceJournal): Promise<SweepLeftover[]> {
  // A site in a region of its own has its volumes and servers there: each is deleted through its site's clients.
  const regional = new Map<string, Clients | Error>();
  if (allSites(cfg).some((s) => s.region !== undefined))
    for (const s of allSites(cfg)) regional.set(s.name, await openSiteClients(cfg, s).catch((e: unknown) => e as Error));
  const clientsOf = (r: { site: string }) => {
    const c = regional.get(r.site) ?? clients;
    if (c instanceof Error) throw new Error(`the clients of site ${r.site} did not open: ${c.message}`);
    return c;
  };
  const { failed } = await deleteAll(clientsOf, journal.outstanding(), timing(cfg.timeouts, "deletion"), {
    journal,
    log: (line, r) => process.stderr.write(`[${r.site}] cleanup sweep: ${line}\n`),
  });
  return failed.map((f) => ({
    site: f.resource.site,
    text: `${f.resource.kind} ${f.resource.name} (${f.resource.id}) at ${f.resource.site}: ${f.error}`,
  }));
}

/**
 * After the sweep: rbd images in any site's pools named after what the run created and the API has
 * deleted (Glance or Cinder forgot them below the API). The probes only read.
 */
export async function rbdLeftovers(
  cfg: Config,
  journal: ResourceJournal,
  log: (line: string) => void,
  reach: Reach = {},
): Promise<RbdScan> {
  // NOTE: an image-copy's deletion removes one store's copy: the image itself, and its rbd images elsewhere, stay.
  const deleted = journal.deleted().filter((r) => r.kind !== "image-copy");
  if (deleted.length) log(`looking in every site's pools for rbd images of the ${deleted.length} resources the run deleted`);
  const unreachable = Object.fromEntries(
    Object.values(reach).flatMap((r) =>
      r.state === "ok"
        ? []
        : [
            [
              r.site,
              r.state === "unreachable"
                ? "its Ceph did not answer"
                : r.state === "no-access"
                  ? r.reason
                  : "its probe reaches another cluster",
            ],
          ],
    ),
  );
  return scanRbdLeftovers(cfg, deleted, { wait: timing(cfg.timeouts, "deletion"), log, unreachable });
}

export function cloudOf(clients: Clients): NonNullable<RunSummary["cloud"]> {
  const c = clients.session.credentials;
  return { authUrl: c.auth.authUrl.replace(/\/+$/, ""), region: c.regionName ?? "", project: clients.session.projectName ?? "" };
}

/** The selected tests that apply at a site: those of its role, in the groups and among the tests asked for, that its config does not rule out. */
function applicableAt(cfg: Config, sel: Pick<Selection, "suites" | "tests">, site: string): string[] {
  return testsAt(roleOf(cfg, site), sel.suites, sel.tests)
    .filter((e) => !notApplicable(e.id, cfg, site))
    .map((e) => e.id);
}

/** The sites that run at least one test, each with its suite groups: the catalog decides. */
export function sitePlan(cfg: Config, sel: Pick<Selection, "sites" | "suites" | "tests">): SitePlan[] {
  return sel.sites
    .map((site) => ({ site, tests: applicableAt(cfg, sel, site) }))
    .filter((s) => s.tests.length > 0)
    .map(({ site, tests }) => ({ site, groups: suiteGroupsAt(roleOf(cfg, site), sel.suites, tests) }));
}

/** Why a selected site has nothing to run: its role's tests are not in the selection, or its config rules them out. */
function whyNothingAt(cfg: Config, sel: Pick<Selection, "suites" | "tests">, site: string): string {
  const role = roleOf(cfg, site);
  const where = role === "central" ? "the central site" : "an edge";
  if (testsAt(role, sel.suites).length === 0) return `suites ${sel.suites.join(", ")} hold no test that runs at ${where}`;
  const asked = testsAt(role, sel.suites, sel.tests);
  if (asked.length === 0) return `none of --tests ${(sel.tests ?? []).join(", ")} runs at ${where}`;
  return asked.map((e) => `${e.id}: ${notApplicable(e.id, cfg, site)}`).join("; ");
}

/** Why each selected site that runs nothing has nothing to run (the config rules its selected tests out there). */
export function nothingToRun(cfg: Config, sel: Pick<Selection, "sites" | "suites" | "tests">): string[] {
  const planned = new Set(sitePlan(cfg, sel).map((p) => p.site));
  return sel.sites
    .filter((site) => !planned.has(site) && testsAt(roleOf(cfg, site), sel.suites, sel.tests).length > 0)
    .map((site) => `${site}: nothing to run there, not counted: ${whyNothingAt(cfg, sel, site)}`);
}

/**
 * Refuses, before any cloud call, a selection under which no site has a test to run, naming why each selected site
 * has nothing.
 */
export function requireSomethingToRun(cfg: Config, sel: Pick<Selection, "sites" | "suites" | "tests" | "shard">): void {
  if (sitePlan(cfg, sel).length > 0) return;
  if (sel.sites.length === 0)
    throw new ConfigError(
      `nothing to run: ${sel.shard ? `shard ${sel.shard.index}/${sel.shard.count} holds no site` : "no site selected"}`,
      [],
    );
  const why = sel.sites.map((site) => `${site} (${roleOf(cfg, site)}): ${whyNothingAt(cfg, sel, site)}`);
  throw new ConfigError(`nothing to run, so nothing would be verified:\n  ${why.join("\n  ")}`, []);
}

/** The young generation's semi-space of the sites' worker heap, in MB (V8's default is 16). */
const WORKER_SEMI_SPACE_MB = 2;

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
 * Runs the selected suites: every site in one vitest worker, side by side (at most maxParallel at once), with the
 * run handed to the worker as data. Then sweeps what the journal still lists, writes summary.json and one Allure
 * report per site.
 */
export async function runVerification(
  cfg: Config,
  configPath: string,
  sel: Selection,
  o: {
    reportsRoot: string;
    log: (line: string) => void;
    verbose?: boolean;
    html?: boolean;
    /** A canary run: plant a new set (no manifest; its id is canary-<run id>), or verify the manifest's. */
    canary?: { manifest?: CanaryManifest; rebuilt?: boolean };
  },
): Promise<RunOutcome> {
  const { log } = o;
  // NOTE: loading the test runner takes about a second of CPU; it overlaps the waits on Keystone and the clusters.
  const runner = import("vitest/node");
  runner.catch(() => undefined);
  let firstRequestAt: number | undefined;
  const unobserve = onRequest((e) => {
    firstRequestAt ??= Date.now() - e.durationMs;
  });
  // NOTE: the clusters are pinned while Keystone authenticates; neither needs the other.
  const reaching = checkReach(cfg);
  reaching.catch(() => undefined);
  let clients: Clients;
  try {
    clients = await openSiteClients(cfg, cfg.central);
    unobserve();
  } catch (e) {
    unobserve();
    log(`cannot reach the cloud: ${redactText((e as Error).message)}`);
    await reaching.catch(() => undefined);
    return { exitCode: 1, runDir: "", leftovers: [] };
  }
  const runId = newRunId();
  const runDir = join(o.reportsRoot, runId);
  mkdirSync(runDir, { recursive: true });
  const workDir = runWorkDir(runId);
  let imageServer: ImageServer | undefined;
  const webDir = join(workDir, "web");
  if (!cfg.webDownload.uri && sel.suites.includes("multistore") && tierAllows(sel.tier, "standard")) {
    mkdirSync(webDir, { recursive: true, mode: 0o700 });
    try {
      imageServer = await startImageServer(cfg.webDownload, webDir);
    } catch (e) {
      log((e as Error).message);
      rmSync(workDir, { recursive: true, force: true });
      return { exitCode: 2, runDir, leftovers: [] };
    }
  }
  const plan = sitePlan(cfg, sel);
  for (const line of nothingToRun(cfg, sel)) log(line);
  const reach = await reaching;
  for (const line of formatReach(reach)) log(line);
  const info: RunInfo = {
    runId,
    ...(sel.group ? { group: sel.group } : {}),
    ...(sel.shard ? { shard: sel.shard } : {}),
    runDir,
    configPath,
    config: cfg,
    sites: sel.sites,
    suites: sel.suites,
    ...(sel.tests ? { tests: sel.tests } : {}),
    tier: sel.tier,
    startedAt: new Date().toISOString(),
    testTimeoutMs: testTimeoutMs(cfg),
    workDir,
    ...(imageServer ? { web: { baseUrl: imageServer.baseUrl, dir: webDir } } : {}),
    reach,
    ...(o.canary ? { canary: { setId: o.canary.manifest?.setId ?? `canary-${runId}`, ...o.canary } } : {}),
  };
  const { config: _config, ...record } = info;
  writeFileSync(join(runDir, "run.json"), JSON.stringify(record, null, 2));
  const journal = new ResourceJournal(join(runDir, "resources.jsonl"));
  const share = sel.shard
    ? ` (shard ${sel.shard.index}/${sel.shard.count} of group ${sel.group})`
    : sel.group
      ? ` (group ${sel.group})`
      : "";
  log(`${runId}: sites ${sel.sites.join(", ")}${share}; reports in ${runDir}`);
  if (tierAllows(sel.tier, "standard")) {
    const checks = await preflightChecks(cfg, sel, clients.session);
    for (const c of checks.filter((x) => !x.ok || x.warn)) log(`preflight: ${formatChecks([c])}`);
    const unmet = checks.filter((c) => !c.ok);
    if (unmet.length) {
      log(`preflight: ${unmet.length} need(s) unmet (${unmet.map((c) => c.name).join(", ")}); the run created nothing`);
      await imageServer?.close();
      rmSync(workDir, { recursive: true, force: true });
      return { exitCode: 2, runDir, leftovers: [] };
    }
    log(`preflight: ${checks.length} checks met`);
  }

  const siteReports = new SiteReports(cfg, clients, runDir, o.reportsRoot, runId, o.html ?? true);
  const reporter = new RunReporter(
    new LiveProgress(process.stderr, { verbose: o.verbose }),
    plan.map((p) => p.site),
    (site) => void siteReports.begin(site),
  );
  const inFlight = Math.max(1, Math.min(sel.maxParallel ?? DEFAULT_MAX_PARALLEL, plan.length));
  const { createVitest } = await runner;
  // NOTE: V8's flags are the process's, and the sites' worker thread sizes its heap from them when it starts. The sites
  // stream image data through buffers that die young: with 2 MB young-generation semi-spaces instead of V8's 16, a
  // 2-edge run on the lab peaked at 357-375 MB instead of 432 (measured with a worker per site). A flag the operator
  // gives Node (NODE_OPTIONS) wins.
  if (![...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)].some((a) => a.startsWith("--max-semi-space-size")))
    setFlagsFromString(`--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`);
  const vitestCache = userCacheDir("vitest");
  let interrupted = false;
  let vitest: Awaited<ReturnType<typeof createVitest>> | undefined;
  const onSignal = (sig: string) => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n${sig}: starting no new steps; cleaning up what the run created\n`);
    void vitest?.cancelCurrentRun("keyboard-input");
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    vitest = await createVitest("test", {
      config: false,
      root: PACKAGE_ROOT,
      // NOTE: vitest's results cache sits under the root, which may be an installed package: the run writes nothing there.
      cache: false,
      // NOTE: with the suites' transformed modules kept in the user's cache, a site's first step comes about 2.1 s after
      // vitest starts instead of 2.8 s.
      ...(vitestCache ? { experimental: { fsModuleCache: true, fsModuleCachePath: vitestCache } } : {}),
      watch: false,
      run: true,
      pool: "threads",
      // NOTE: one worker runs every site: a worker thread with its own module graph cost about 100 MB a site. The
      // sites are concurrent describes of one file; maxConcurrency bounds both how many run at once (in the plan's
      // order) and how many tests and hooks run at once, and each site runs one test or hook at a time.
      maxWorkers: 1,
      maxConcurrency: inFlight,
      // NOTE: vitest calls the reporters' hooks in this order; the Allure one writes a site's results in its
      // onTestSuiteResult, synchronously, before RunReporter's begins the site's report.
      reporters: [new PerSiteAllureReporter({ resultsDir: join(runDir, "allure-results") }), reporter],
      include: [SITES_ENTRY],
      provide: { run: info, plan },
      setupFiles: [dependencyModule("allure-vitest/setup")],
      testTimeout: info.testTimeoutMs,
      hookTimeout: info.testTimeoutMs,
      retry: 0,
    });
    // NOTE: vitest's logger exits the process on SIGINT/SIGTERM; here a signal must stop the run and clean up instead.
    for (const sig of ["SIGINT", "SIGTERM"] as const) for (const l of process.listeners(sig)) if (l !== onSignal) process.off(sig, l);
    await vitest.start();
    await vitest.close();
  } catch (e) {
    log(`the test runner failed: ${redactText((e as Error).message)}`);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await imageServer?.close();
  }

  const ran = plan.map((p) => p.site);
  // NOTE: the sites whose suites did not all end (an interrupted run) have their results once vitest has closed; their
  // reports are built while the sweep waits on the cloud.
  const reports = siteReports.finish(ran);
  reports.catch(() => undefined);
  const leftovers = await sweep(clients, cfg, journal);
  rmSync(workDir, { recursive: true, force: true });
  const rbd = await rbdLeftovers(cfg, journal, log, reach);

  const siteResults: SiteSummary[] = reporter.sites();
  for (const site of ran)
    if (!siteResults.some((s) => s.site === site))
      siteResults.push({ site, status: "failed", tests: [], errors: ["the site's suite did not run"] });
  siteResults.sort((a, b) => sel.sites.indexOf(a.site) - sel.sites.indexOf(b.site));
  const summary: RunSummary = {
    runId,
    ...(sel.group ? { group: sel.group } : {}),
    ...(sel.shard ? { shard: sel.shard, configSites: [cfg.central.name, ...cfg.edges.map((e) => e.name)] } : {}),
    cloud: cloudOf(clients),
    tier: sel.tier,
    suites: sel.suites,
    startedAt: info.startedAt,
    finishedAt: new Date().toISOString(),
    ...(firstRequestAt ? { firstRequestAt: new Date(firstRequestAt).toISOString() } : {}),
    interrupted,
    sites: siteResults,
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
  };
  for (const s of summary.sites) s.cleanup ??= [];
  for (const l of leftovers) summary.sites.find((x) => x.site === l.site)?.cleanup!.push(`the run's sweep could not delete ${l.text}`);
  for (const s of summary.sites) {
    const gate = {
      ...(sel.tierGiven ? { maxNotVerifiedInTier: 0 } : {}),
      ...gateFor(cfg.gates, s.site),
      ...(sel.strict ? { maxWarnings: 0, maxNotVerified: 0 } : {}),
    };
    const notChecked = rbd.notChecked.filter((n) => n.startsWith(`${s.site}: `));
    s.gates = evaluateGates(s.site, s.tests, gate, cfg.knownIssues, new Date(), sel.tier, notChecked.length);
    s.counts = countResults(s.tests, notChecked.length);
    s.ceph = reach[s.site];
  }
  // NOTE: a sweep leftover of a site that has no summary still fails the run, and merge and JUnit see it.
  const orphans = leftovers.filter((l) => !summary.sites.some((s) => s.site === l.site));
  if (orphans.length) summary.leftBehind = orphans.map((l) => `the run's sweep could not delete ${l.text}`);
  const verdict = judgeRun(summary);
  writeFileSync(join(runDir, "summary.json"), JSON.stringify(summary, null, 2));
  writeFileSync(join(runDir, "junit.xml"), junitXml(summary));

  await reports;
  try {
    writeFleetPage(runDir, o.reportsRoot, summary);
  } catch (e) {
    log(`the fleet page was not written: ${redactText((e as Error).message)}`);
  }
  return { exitCode: verdict.ok ? 0 : 1, runDir, summary, leftovers, rbd };
}

/** The site's Ceph version for the report's environment; the probe (an ssh connection, say) is closed after. */
async function cephVersion(site: Parameters<typeof createCephProbe>[0]): Promise<string> {
  const probe = createCephProbe(site, { timeoutMs: 15000 });
  try {
    return await probe.version();
  } catch (e) {
    return `unknown (${(e as Error).message.split("\n")[0]})`;
  } finally {
    await probe.close();
  }
}

const REPORTS_IN_PARALLEL = 4;

/**
 * One Allure report per site, with the run's environment, each begun as soon as its site's last suite file ends, a
 * few at a time. Without html, each site's Allure results and environment only: `allure generate` builds the report
 * from them later.
 */
class SiteReports {
  private readonly split: AllureResultsBySite;
  private readonly generator = new ReportGenerator();
  private readonly begun = new Map<string, Promise<void>>();
  // NOTE: the reports are built one at a time in one Allure process; a few sites at a time ask their Ceph version.
  private readonly gate = limiter(REPORTS_IN_PARALLEL);

  constructor(
    private readonly cfg: Config,
    private readonly clients: Clients,
    private readonly runDir: string,
    private readonly reportsRoot: string,
    private readonly runId: string,
    private readonly html: boolean,
  ) {
    this.split = new AllureResultsBySite(join(runDir, "allure-results"), runDir);
  }

  /** Begins the site's report: its results are all written. */
  begin(site: string): Promise<void> {
    const begun = this.begun.get(site);
    if (begun) return begun;
    const p = this.gate(() => this.write(site));
    p.catch(() => undefined);
    this.begun.set(site, p);
    return p;
  }

  /** The reports of these sites (begun now if they were not), and reports/latest pointing at the run. */
  async finish(sites: string[]): Promise<void> {
    await settleAll(sites.map((s) => this.begin(s)));
    await this.generator.close();
    const latest = join(this.reportsRoot, "latest");
    rmSync(latest, { force: true });
    symlinkSync(this.runId, latest);
  }

  private async write(site: string): Promise<void> {
    const { cfg, clients, html } = this;
    const results = this.split.take(site);
    const siteCfg = allSites(cfg).find((s) => s.name === site)!;
    const ceph = !html ? "not asked (--no-html)" : hasCephAccess(siteCfg) ? await cephVersion(siteCfg) : "not known: no Ceph access";
    writeEnvironment(results, {
      cloud: "cloud" in cfg.cloud ? cfg.cloud.cloud : "OS_* environment",
      region: cfg.cloud.region ?? clients.session.credentials.regionName ?? "",
      "compute microversion": clients.compute.microversion,
      "volume microversion": clients.volume.microversion,
      "ceph version": ceph,
      "dcn-verify": JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")).version,
      "run id": this.runId,
      site,
    });
    if (!html) return;
    try {
      await this.generator.generate(results, join(this.runDir, site, "report"), `dcn-verify ${site} ${this.runId}`, {
        historyFile: join(this.reportsRoot, "history", `${site}.jsonl`),
      });
    } catch (e) {
      process.stderr.write(`[${site}] ${(e as Error).message}\n`);
    }
  }
}

/** The final table: per site, its result, what passed, failed, warned and was not verified, its time and gates. */
export function summaryTable(sites: SiteSummary[]): string {
  const rows = [["site", "result", "passed", "failed", "known", "warnings", "not verified", "time", "gates"]];
  for (const s of sites) {
    const n = s.counts ?? countResults(s.tests);
    const secs = s.tests.reduce((a, t) => a + t.durationMs, 0) / 1000;
    const known = s.gates?.known.length ?? 0;
    const gates = !s.gates
      ? "-"
      : s.gates.ok
        ? "met"
        : `NOT MET (${s.gates.results
            .filter((r) => !r.ok)
            .map((r) => r.name)
            .join(", ")})`;
    rows.push([
      s.site,
      s.verdict ? (s.verdict.ok ? "PASSED" : "FAILED") : s.status.toUpperCase(),
      `${n.passed}`,
      `${n.failed - known}`,
      `${known}`,
      `${n.warnings}`,
      `${n.notVerified}`,
      `${secs.toFixed(1)} s`,
      gates,
    ]);
  }
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(w[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** What the operator reads at the end: the table, each failure with its category, gates, errors and leftovers. */
export function formatOutcome(out: RunOutcome): string {
  const summary = out.summary!;
  const lines = [`\n${summaryTable(summary.sites)}\n`];
  if (summary.interrupted) lines.push(`\nthe run was INTERRUPTED: the steps it did not start are not verified\n`);
  for (const s of summary.sites) {
    for (const t of s.tests.filter((x) => x.status === "failed")) {
      const known = s.gates?.known.find((k) => k.test === t.id);
      const tag = known
        ? `KNOWN [${t.failureKind}] (a known issue covers it until ${known.expires}: ${known.reason} ${known.link})`
        : `FAILED [${t.failureKind}]`;
      lines.push(`\n[${s.site}] ${tag} ${t.title}\n  ${(t.failure ?? "").split("\n").join("\n  ")}\n`);
    }
    for (const t of s.tests) for (const w of t.warnings ?? []) lines.push(`\n[${s.site}] WARNING ${t.id}: ${w}\n`);
    for (const t of s.tests) for (const v of t.notVerified ?? []) lines.push(`\n[${s.site}] NOT VERIFIED ${t.id}: ${v}\n`);
    for (const k of s.gates?.expired ?? [])
      lines.push(`\n[${s.site}] known issue for ${k.test} expired on ${k.expires}: the failure counts again (${k.link})\n`);
    for (const g of s.gates?.results.filter((r) => !r.ok) ?? []) lines.push(`\n[${s.site}] GATE ${g.name} not met: ${g.detail}\n`);
    for (const e of s.errors) lines.push(`\n[${s.site}] ERROR ${e}\n`);
    for (const c of s.cleanup ?? []) lines.push(`\n[${s.site}] LEFT BEHIND ${c}\n`);
  }
  for (const r of summary.rbdLeftovers ?? []) lines.push(`\n[${r.site}] LEFTOVER ${formatRbdLeftover(r)}\n`);
  for (const n of summary.rbdNotChecked ?? []) lines.push(`\nNOT CHECKED for rbd leftovers: ${n}\n`);
  if (summary.verdict && !summary.verdict.ok) lines.push(`\nFAILED: ${summary.verdict.reasons.join("\n  ")}\n`);
  lines.push(
    `\nreports: ${join(out.runDir, "index.html")} (the fleet), ${out.runDir}/<site>/report/index.html; summary ${join(out.runDir, "summary.json")}; junit ${join(out.runDir, "junit.xml")}\n`,
  );
  return lines.join("");
}
