import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Clients, openSiteClients } from "../../clients/index.ts";
import { ConfigError } from "../../config/load.ts";
import type { Config } from "../../config/schema.ts";
import { onRequest } from "../../core/http.ts";
import { redactText } from "../../core/redact.ts";
import type { CanaryManifest } from "../../harness/canary.ts";
import { notApplicable, roleOf, suiteGroupsAt, testsAt, tierAllows } from "../../harness/catalog.ts";
import type { RunInfo, RunSummary, SitePlan } from "../../harness/model.ts";
import { newRunId } from "../../harness/naming.ts";
import { checkReach, formatReach } from "../../harness/reach.ts";
import { ResourceJournal } from "../../harness/resources.ts";
import { type ImageServer, startImageServer } from "../../images/server.ts";
import type { Selection } from "../selection.ts";

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

/** A canary run: plant a new set (no manifest; its id is canary-<run id>), or verify the manifest's. */
export interface CanaryRun {
  manifest?: CanaryManifest;
  rebuilt?: boolean;
}

/** What the run has once it is prepared: the cloud's clients, its folder and journal, the data the sites' worker gets. */
export interface Prepared {
  clients: Clients;
  info: RunInfo;
  plan: SitePlan[];
  journal: ResourceJournal;
  imageServer?: ImageServer;
  /** The test runner, loaded while the cloud answered. */
  runner: Promise<typeof import("vitest/node")>;
  /** When the run's first API request went out (epoch ms). */
  firstRequestAt?: number;
}

/** The run stopped before anything was created: no cloud (exit 1), or the image server did not start (exit 2). */
export interface Stopped {
  exitCode: 1 | 2;
  runDir: string;
}

/**
 * Keystone (the central site's clients) and each site's Ceph asked for its fsid, side by side, while the test runner
 * loads; then the run id, reports/<run id>/run.json, the journal and, for multistore, the web-download image server.
 */
export async function prepare(
  cfg: Config,
  configPath: string,
  sel: Selection,
  o: { reportsRoot: string; log: (line: string) => void; canary?: CanaryRun },
): Promise<Prepared | Stopped> {
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
    return { exitCode: 1, runDir: "" };
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
      return { exitCode: 2, runDir };
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
  return { clients, info, plan, journal, runner, ...(imageServer ? { imageServer } : {}), ...(firstRequestAt ? { firstRequestAt } : {}) };
}

/** The run's scratch space and image server, gone: at its end, or when it stops before executing. */
export async function release(prep: Prepared): Promise<void> {
  await prep.imageServer?.close();
  rmSync(prep.info.workDir, { recursive: true, force: true });
}
