import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseCommand } from "./args.ts";
import { createCephProbe } from "../helpers/ceph/probe.ts";
import { openClients, type Clients } from "../helpers/clients/index.ts";
import { ConfigError, loadConfig, REPO_ROOT, resolveConfigPath, type Config } from "../helpers/config.ts";
import { redactText } from "../helpers/redact.ts";
import { evaluateGates, gateFor } from "../helpers/gates.ts";
import { generateReport, splitAllureResults, writeEnvironment } from "../helpers/report.ts";
import { deleteResource, ResourceJournal } from "../helpers/resources.ts";
import { startImageServer, type ImageServer } from "../helpers/image-server.ts";
import { CATALOG, TIERS, tierAllows, type Tier } from "../suites/catalog.ts";
import { RUN_DIR_ENV, runWorkDir, SUITE_GROUPS, type RunInfo, type SuiteGroup } from "../helpers/run-context.ts";
import type { RunSummary, SiteSummary } from "../helpers/run-reporter.ts";
import { timing } from "../helpers/waiters.ts";

const USAGE = `usage: dcn-verify run [--config FILE] [--sites dcn0,dcn1] [--suites ${SUITE_GROUPS.join(",")}] [--tier TIER] [--allow-writes] [--reports DIR]
  Runs the DCN verification procedure: central's checks and, in parallel, each edge site's.
  --tier is the highest tier that runs: read-only (lists and inspects), standard (creates and deletes its own
  resources; the default) or disruptive (also stops servers). With production: true in the config the tier is
  capped at read-only unless --allow-writes is given.
  --suites picks groups: procedure (steps 1-7), multistore (Glance multi-store import, at central),
  rules (the DCN edge rules, at each edge), conformance (deployment checks, at every site). All by default.
  With no --config, DCN_VERIFY_CONFIG or the embedded lab's config is used.`;

/** The run's highest tier: --tier (default standard), capped at read-only for a production cloud unless writes are allowed. */
export function selectTier(asked: string | undefined, production: boolean, allowWrites: boolean): { tier: Tier; notice?: string } {
  const want = asked ?? "standard";
  if (!TIERS.includes(want as Tier)) throw new ConfigError(`--tier: unknown tier '${want}'; one of ${TIERS.join(", ")}`, []);
  if (production && !allowWrites && want !== "read-only") {
    return { tier: "read-only", notice: `production: true in the config caps the run at tier read-only (asked: ${want}); give --allow-writes to lift the cap` };
  }
  return { tier: want as Tier };
}

/** Known issues must name tests that exist. */
export function checkKnownIssues(cfg: Config): void {
  const bad = cfg.knownIssues.map((k, i) => ({ k, i })).filter(({ k }) => !CATALOG.some((c) => c.id === k.test));
  if (bad.length) {
    throw new ConfigError(bad.map(({ k, i }) => `config knownIssues[${i}].test: no test '${k.test}' (see dcn-verify plan for the ids)`).join("\n"), []);
  }
}

export function selectSuites(only?: string): SuiteGroup[] {
  if (!only) return [...SUITE_GROUPS];
  const asked = only.split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = asked.filter((s) => !SUITE_GROUPS.includes(s as SuiteGroup));
  if (unknown.length || asked.length === 0) throw new ConfigError(`--suites: unknown group ${unknown.join(", ") || "(none given)"}; the groups are ${SUITE_GROUPS.join(", ")}`, []);
  return SUITE_GROUPS.filter((g) => asked.includes(g));
}

export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "t").slice(0, 15);
  return `${stamp}-${randomBytes(2).toString("hex")}`;
}

/** The sites to run: central always (its checks come first), then the edges asked for. */
export function selectSites(cfg: Config, only?: string): string[] {
  const edges = cfg.edges.map((e) => e.name);
  if (!only) return [cfg.central.name, ...edges];
  const asked = only.split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = asked.filter((s) => s !== cfg.central.name && !edges.includes(s));
  if (unknown.length) throw new ConfigError(`--sites: unknown site ${unknown.join(", ")}; the config has ${[cfg.central.name, ...edges].join(", ")}`, []);
  return [cfg.central.name, ...edges.filter((e) => asked.includes(e))];
}

function testTimeoutMs(cfg: Config): number {
  const t = cfg.timeouts;
  return (t.imageActive * 3 + t.copyImage * 3 + t.volumeAvailable * 3 + t.volumeUpload + t.serverActive * 2 + t.serverStopped + t.snapshotAvailable + t.request * 10) * 1000;
}

/** Deletes, newest first, whatever the run's journal says was created and not deleted. */
export async function sweep(clients: Clients, cfg: Config, journal: ResourceJournal): Promise<string[]> {
  const left: string[] = [];
  for (const r of journal.outstanding()) {
    try {
      await deleteResource(clients, r, timing(cfg.timeouts, "deletion"));
      journal.record("deleted", r);
      process.stderr.write(`[${r.site}] cleanup sweep: deleted ${r.kind} ${r.name} (${r.id})\n`);
    } catch (e) {
      left.push(`${r.kind} ${r.name} (${r.id}) at ${r.site}: ${redactText((e as Error).message)}`);
    }
  }
  return left;
}

export function cloudOf(clients: Clients): NonNullable<RunSummary["cloud"]> {
  const c = clients.session.credentials;
  return { authUrl: c.auth.authUrl.replace(/\/+$/, ""), region: c.regionName ?? "", project: clients.session.projectName ?? "" };
}

function table(sites: SiteSummary[]): string {
  const rows = [["site", "result", "passed", "failed", "known", "skipped", "time", "gates"]];
  for (const s of sites) {
    const n = (st: string) => String(s.tests.filter((t) => t.status === st).length);
    const secs = s.tests.reduce((a, t) => a + t.durationMs, 0) / 1000;
    const known = s.gates?.known.length ?? 0;
    const failed = s.tests.filter((t) => t.status === "failed").length - known;
    const gates = !s.gates ? "-" : s.gates.ok ? "met" : `NOT MET (${s.gates.results.filter((r) => !r.ok).map((r) => r.name).join(", ")})`;
    rows.push([s.site, s.status.toUpperCase(), n("passed"), String(failed), String(known), n("skipped"), `${secs.toFixed(1)} s`, gates]);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(w[i])).join("  ").trimEnd()).join("\n");
}

export async function runCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, {
    config: { type: "string" }, sites: { type: "string" }, suites: { type: "string" }, tier: { type: "string" }, "allow-writes": { type: "boolean" }, reports: { type: "string" },
  }, USAGE);
  if (typeof parsed === "number") return parsed;
  const args = parsed.values;
  let cfg: Config;
  let configPath: string;
  let sites: string[];
  let suites: SuiteGroup[];
  let tier: Tier;
  try {
    suites = selectSuites(args.suites);
    configPath = resolveConfigPath(args.config);
    cfg = await loadConfig(configPath);
    checkKnownIssues(cfg);
    sites = selectSites(cfg, args.sites);
    const t = selectTier(args.tier, cfg.production, Boolean(args["allow-writes"]));
    tier = t.tier;
    if (t.notice) process.stderr.write(`dcn-verify run: ${t.notice}\n`);
  } catch (e) {
    process.stderr.write(`dcn-verify run: ${redactText((e as Error).message)}\n`);
    return 2;
  }

  let clients: Clients;
  try {
    clients = await openClients(cfg);
  } catch (e) {
    process.stderr.write(`dcn-verify run: cannot reach the cloud: ${redactText((e as Error).message)}\n`);
    return 1;
  }

  const runId = newRunId();
  const reportsRoot = resolve(args.reports ?? cfg.reportsDir);
  const runDir = join(reportsRoot, runId);
  mkdirSync(runDir, { recursive: true });
  let imageServer: ImageServer | undefined;
  const webDir = join(runWorkDir(runId), "web");
  if (!cfg.webDownload.uri && suites.includes("multistore") && tierAllows(tier, "standard")) {
    mkdirSync(webDir, { recursive: true, mode: 0o700 });
    try {
      imageServer = await startImageServer(cfg.webDownload, webDir);
    } catch (e) {
      process.stderr.write(`dcn-verify run: ${(e as Error).message}\n`);
      rmSync(runWorkDir(runId), { recursive: true, force: true });
      return 2;
    }
  }
  // Central runs the procedure's first steps and the multi-store tests; each edge its steps and the rules.
  const ranSites = sites.filter((_, i) => (i === 0 ? suites.some((g) => g !== "rules") : suites.some((g) => g !== "multistore")));
  const info: RunInfo = {
    runId, runDir, configPath, sites, suites, tier, knownIssues: cfg.knownIssues, startedAt: new Date().toISOString(), testTimeoutMs: testTimeoutMs(cfg),
    web: imageServer ? { baseUrl: imageServer.baseUrl, dir: webDir } : undefined,
  };
  writeFileSync(join(runDir, "run.json"), JSON.stringify(info, null, 2));
  const journal = new ResourceJournal(join(runDir, "resources.jsonl"));
  process.stderr.write(`dcn-verify run ${runId}: sites ${sites.join(", ")}; reports in ${runDir}\n`);

  process.env[RUN_DIR_ENV] = runDir;
  const { createVitest } = await import("vitest/node");
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
    vitest = await createVitest("test", { config: join(REPO_ROOT, "vitest.run.config.ts"), root: REPO_ROOT, watch: false, run: true });
    // NOTE: vitest's logger exits the process on SIGINT/SIGTERM; here a signal must stop the run and clean up instead.
    for (const sig of ["SIGINT", "SIGTERM"] as const) for (const l of process.listeners(sig)) if (l !== onSignal) process.off(sig, l);
    await vitest.start();
    await vitest.close();
  } catch (e) {
    process.stderr.write(`dcn-verify run: the test runner failed: ${redactText((e as Error).message)}\n`);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await imageServer?.close();
  }

  const leftovers = await sweep(clients, cfg, journal);
  rmSync(runWorkDir(runId), { recursive: true, force: true });

  const siteResults: SiteSummary[] = existsSync(join(runDir, "sites.json")) ? JSON.parse(readFileSync(join(runDir, "sites.json"), "utf8")) : [];
  for (const site of ranSites) if (!siteResults.some((s) => s.site === site)) siteResults.push({ site, status: "failed", tests: [], errors: ["the site's suite did not run"] });
  siteResults.sort((a, b) => sites.indexOf(a.site) - sites.indexOf(b.site));
  const summary: RunSummary = {
    runId, cloud: cloudOf(clients), tier, suites, startedAt: info.startedAt, finishedAt: new Date().toISOString(), interrupted, sites: siteResults,
  };
  if (leftovers.length) for (const s of summary.sites) s.errors.push(...leftovers.filter((l) => l.includes(` at ${s.site}: `)));
  for (const s of summary.sites) s.gates = evaluateGates(s.site, s.tests, gateFor(cfg.gates, s.site), cfg.knownIssues);
  writeFileSync(join(runDir, "summary.json"), JSON.stringify(summary, null, 2));

  const resultDirs = splitAllureResults(join(runDir, "allure-results"), runDir, ranSites);
  const versions = { compute: clients.compute.microversion, volume: clients.volume.microversion };
  for (const site of ranSites) {
    const siteCfg = [cfg.central, ...cfg.edges].find((s) => s.name === site)!;
    const ceph = await createCephProbe(siteCfg, { timeoutMs: 15000 }).version().catch((e) => `unknown (${(e as Error).message.split("\n")[0]})`);
    writeEnvironment(resultDirs[site], {
      cloud: "cloud" in cfg.cloud ? cfg.cloud.cloud : "OS_* environment",
      region: cfg.cloud.region ?? clients.session.credentials.regionName ?? "",
      "compute microversion": versions.compute,
      "volume microversion": versions.volume,
      "ceph version": ceph,
      "dcn-verify": JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")).version,
      "run id": runId,
      site,
    });
    try {
      await generateReport(resultDirs[site], join(runDir, site, "report"), `dcn-verify ${site} ${runId}`, { historyFile: join(reportsRoot, "history", `${site}.jsonl`) });
    } catch (e) {
      process.stderr.write(`[${site}] ${(e as Error).message}\n`);
    }
  }
  const latest = join(reportsRoot, "latest");
  rmSync(latest, { force: true });
  symlinkSync(runId, latest);

  process.stdout.write(`\n${table(summary.sites)}\n`);
  if (interrupted) process.stdout.write(`\nthe run was INTERRUPTED: the steps it did not start are not verified\n`);
  for (const s of summary.sites) {
    for (const t of s.tests.filter((x) => x.status === "failed")) {
      const known = s.gates?.known.find((k) => k.test === t.id);
      const tag = known ? `FAILED (known issue until ${known.expires}: ${known.reason} ${known.link})` : `FAILED [${t.failureKind}]`;
      process.stdout.write(`\n[${s.site}] ${tag} ${t.title}\n  ${(t.failure ?? "").split("\n").join("\n  ")}\n`);
    }
    for (const k of s.gates?.expired ?? []) process.stdout.write(`\n[${s.site}] known issue for ${k.test} expired on ${k.expires}: the failure counts again (${k.link})\n`);
    for (const g of s.gates?.results.filter((r) => !r.ok) ?? []) process.stdout.write(`\n[${s.site}] GATE ${g.name} not met: ${g.detail}\n`);
    for (const e of s.errors) process.stdout.write(`\n[${s.site}] ERROR ${e}\n`);
  }
  if (leftovers.length) process.stdout.write(`\nresources that could not be deleted:\n  ${leftovers.join("\n  ")}\n`);
  process.stdout.write(`\nreports: ${runDir}/<site>/report/index.html; summary ${join(runDir, "summary.json")}; junit ${join(runDir, "junit.xml")}\n`);
  const ok = !interrupted && leftovers.length === 0 && summary.sites.every((s) => s.errors.length === 0 && s.tests.length > 0 && s.gates?.ok);
  return ok ? 0 : 1;
}
