import { randomBytes } from "node:crypto";
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { Gauge, Pushgateway, Registry } from "prom-client";
import type { Config } from "../config/schema.ts";
import { redactText } from "../core/redact.ts";
import { catalog } from "../harness/catalog.ts";
import { verdictOf } from "./reports/fleet.ts";
import { judgeSite } from "./pipeline/judge.ts";
import type { RunSummary, SiteSummary, TestSummary } from "../harness/model.ts";

/**
 * A finished run's results in Prometheus's text format, for node_exporter's textfile collector or a Pushgateway.
 *
 * A `dcn-verify run` exports, per site:
 * - dcn_verify_check_success{site,check,tier,availability_zone,store}: 1 when the check passed (with or without
 *   warnings), 0 when it failed or was not verified (skipped, or a part of it left not verified). A check the run's
 *   tier left out (skipped above the tier) is not exported: it says nothing about the site. tier is the check's own
 *   tier (the catalog's), not the run's, so that a series keeps its labels from run to run.
 * - dcn_verify_check_duration_seconds{site,check,tier}: the same checks.
 * - dcn_verify_checks{site,outcome}: how many of those checks passed, failed, warned or were not verified.
 * - dcn_verify_site_success{site,availability_zone}: the site's verdict, the one the exit code reads (failed tests no
 *   known issue covers, errors, cleanup, gates), and also 0 when the run was interrupted or left an rbd image of the
 *   site behind (the run's verdict fails on both).
 * - dcn_verify_last_run_timestamp_seconds{site}: when the run ended.
 * - dcn_verify_last_success_timestamp_seconds{site}: when the run ended, only for a site that succeeded.
 *
 * A `dcn-verify canary verify` exports other names, so that neither replaces the other's (see pushMetrics):
 * - dcn_verify_canary_intact{site,canary}: per canary check (canary is its test id, e.g. canary-image), 1 when the
 *   canary is as plant recorded it, 0 when it differs, is gone, or could not be verified.
 * - dcn_verify_canary_verify_success{site}: the site's verdict in the canary verify run.
 * - dcn_verify_canary_last_verify_timestamp_seconds{site}: when the canary verify run ended.
 *
 * No label value is ever a UUID (or a 32-hex id): resource ids, run ids and set ids stay out of the labels.
 */

export class MetricsError extends Error {}

/** The job of every push: the Pushgateway's grouping key is job and site, never instance. */
export const PUSH_JOB = "dcn_verify";
/** How long one push to the Pushgateway may take, in all. */
export const PUSH_TIMEOUT_MS = 10000;

/** The sites' names, AZs and stores, from the run's config. */
export type SiteLabels = Pick<Config, "central" | "edges">;

/** Which command made the run: only run and canary verify export metrics. */
export type MetricsKind = "run" | "canary-verify";

const UUID_LIKE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])/i;

/** Throws when a label value is (or holds) a UUID: an unbounded label makes a new series per run. */
export function assertNoUuid(metric: string, labels: Record<string, string>): void {
  for (const [name, value] of Object.entries(labels))
    if (UUID_LIKE.test(value))
      throw new MetricsError(`metric ${metric}: label ${name}="${value}" holds a UUID; labels take bounded values (site, check, tier)`);
}

/** The config path the run recorded in its run.json (a merged run has none). */
export function runConfigPath(runDir: string): string | undefined {
  const file = join(resolve(runDir), "run.json");
  if (!existsSync(file)) return undefined;
  try {
    const p = (JSON.parse(readFileSync(file, "utf8")) as { configPath?: unknown }).configPath;
    return typeof p === "string" && p ? p : undefined;
  } catch {
    return undefined;
  }
}

/** Which command made the run, from the suites it ran; a canary plant run has nothing to export. */
export function metricsKind(summary: Pick<RunSummary, "runId" | "suites" | "sites">): MetricsKind {
  const suites = summary.suites ?? [];
  const groupIn = (g: string) => summary.sites.some((s) => s.tests.some((t) => catalogGroup(t.id) === g));
  if (suites.includes("canary-plant") || (!suites.length && groupIn("canary-plant")))
    throw new MetricsError(`run ${summary.runId} is a canary plant run: only the runs of 'run' and 'canary verify' export metrics`);
  if (suites.includes("canary-verify") || (!suites.length && groupIn("canary-verify"))) return "canary-verify";
  return "run";
}

const catalogGroup = (id: string) => catalog().find((e) => e.id === id)?.group;

/** The checks a site exports: every test but those the run's tier left out. */
const exported = (s: SiteSummary): TestSummary[] => s.tests.filter((t) => !(t.status === "skipped" && t.aboveTier));

/** Verified and passed, with or without warnings: never a failed, skipped or partly not verified test. */
const succeeded = (t: TestSummary): boolean => ["passed", "warning"].includes(verdictOf(t));

const OUTCOMES = { passed: "passed", failed: "failed", warning: "warning", "not verified": "not_verified" } as const;

/**
 * The site's verdict as the exit code reads it: its own (judgeSite, written into the summary by judgeRun), and the
 * run's reasons that are the site's (an rbd image left in its pools) or every site's (an interrupted run).
 */
export function siteSucceeded(summary: Pick<RunSummary, "interrupted" | "rbdLeftovers">, s: SiteSummary): boolean {
  const own = s.verdict ? s.verdict.ok : judgeSite(s).ok;
  return own && !summary.interrupted && !(summary.rbdLeftovers ?? []).some((r) => r.site === s.site);
}

function siteOf(cfg: SiteLabels | undefined, site: string): { az: string; store: string } {
  if (!cfg) throw new MetricsError(`the availability_zone and store labels of ${site} come from the run's config: none was given`);
  const s = [cfg.central, ...cfg.edges].find((x) => x.name === site);
  if (!s) throw new MetricsError(`site ${site} of the run is not in the config: its availability_zone and store are unknown`);
  return { az: s.az, store: s.store };
}

/** A gauge in the registry whose every value is checked for UUIDs. */
function gauge<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[]) {
  const g = new Gauge<L>({ name, help, labelNames, registers: [registry] });
  return (labels: Record<L, string>, value: number) => {
    assertNoUuid(name, labels);
    g.set(labels, value);
  };
}

const seconds = (iso: string) => Date.parse(iso) / 1000;

function tierOf(t: TestSummary): string {
  return t.tier ?? catalog().find((e) => e.id === t.id)?.tier ?? "unknown";
}

/**
 * The metrics of the summary's sites (or one of them) in a registry of their own, without the metrics that hold no
 * series: a push carries only the names it has values for (a site that failed pushes no last success).
 */
async function registryOf(summary: RunSummary, cfg: SiteLabels | undefined, only?: string): Promise<Registry> {
  const registry = fill(summary, cfg, only);
  for (const m of await registry.getMetricsAsJSON()) if (!m.values.length) registry.removeSingleMetric(m.name);
  return registry;
}

function fill(summary: RunSummary, cfg: SiteLabels | undefined, only?: string): Registry {
  const registry = new Registry();
  const sites = summary.sites.filter((s) => only === undefined || s.site === only);
  const end = seconds(summary.finishedAt);
  if (metricsKind(summary) === "canary-verify") {
    const intact = gauge(
      registry,
      "dcn_verify_canary_intact",
      "1 when the canary check found the site's canaries as plant recorded them; 0 when they differ, are gone, or were not verified.",
      ["site", "canary"],
    );
    const ok = gauge(
      registry,
      "dcn_verify_canary_verify_success",
      "1 when the site passed its last canary verify (the site's verdict, as the exit code reads it), else 0.",
      ["site"],
    );
    const last = gauge(registry, "dcn_verify_canary_last_verify_timestamp_seconds", "When the site's last canary verify run ended.", [
      "site",
    ]);
    for (const s of sites) {
      for (const t of exported(s)) intact({ site: s.site, canary: t.id }, succeeded(t) ? 1 : 0);
      ok({ site: s.site }, siteSucceeded(summary, s) ? 1 : 0);
      last({ site: s.site }, end);
    }
    return registry;
  }
  const success = gauge(
    registry,
    "dcn_verify_check_success",
    "1 when the check passed at the site (warnings included); 0 when it failed or was not verified. Checks the run's tier left out are not exported.",
    ["site", "check", "tier", "availability_zone", "store"],
  );
  const duration = gauge(registry, "dcn_verify_check_duration_seconds", "How long the check took at the site.", ["site", "check", "tier"]);
  const checks = gauge(
    registry,
    "dcn_verify_checks",
    "The site's checks in the last run, by outcome (passed, failed, warning, not_verified).",
    ["site", "outcome"],
  );
  const siteOk = gauge(
    registry,
    "dcn_verify_site_success",
    "1 when the site passed the last run (the site's verdict, as the exit code reads it), else 0.",
    ["site", "availability_zone"],
  );
  const lastRun = gauge(registry, "dcn_verify_last_run_timestamp_seconds", "When the last run of the site ended.", ["site"]);
  const lastSuccess = gauge(
    registry,
    "dcn_verify_last_success_timestamp_seconds",
    "When the last run the site passed ended (only in the exposition of a run the site passed).",
    ["site"],
  );
  for (const s of sites) {
    const { az, store } = siteOf(cfg, s.site);
    const tests = exported(s);
    for (const t of tests) {
      const tier = tierOf(t);
      success({ site: s.site, check: t.id, tier, availability_zone: az, store }, succeeded(t) ? 1 : 0);
      duration({ site: s.site, check: t.id, tier }, t.durationMs / 1000);
    }
    for (const [verdict, outcome] of Object.entries(OUTCOMES))
      checks({ site: s.site, outcome }, tests.filter((t) => verdictOf(t) === verdict).length);
    const ok = siteSucceeded(summary, s);
    siteOk({ site: s.site, availability_zone: az }, ok ? 1 : 0);
    lastRun({ site: s.site }, end);
    if (ok) lastSuccess({ site: s.site }, end);
  }
  return registry;
}

/**
 * The run's metrics in Prometheus's text exposition format, from a registry of their own (never the global one, no
 * default metrics). cfg gives each site's AZ and store; a canary verify run does not need it.
 */
export async function buildMetrics(summary: RunSummary, cfg?: SiteLabels): Promise<string> {
  return (await registryOf(summary, cfg)).metrics();
}

/** Checks a --metrics-textfile path before the run: a .prom file (what the textfile collector reads) in a directory that exists. */
export function checkTextfilePath(path: string): string {
  const file = resolve(path);
  if (!basename(file).endsWith(".prom") || basename(file) === ".prom")
    throw new MetricsError(`--metrics-textfile: ${path} must end with .prom (node_exporter's textfile collector reads only *.prom files)`);
  const dir = dirname(file);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new MetricsError(`--metrics-textfile: the directory ${dir} does not exist`);
  return file;
}

/**
 * Writes the exposition for node_exporter's textfile collector, whole or not at all: into a temporary file of the same
 * directory (a name the collector does not read), flushed, then renamed over the file.
 */
export function writeMetricsTextfile(path: string, text: string): void {
  const file = checkTextfilePath(path);
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`);
  try {
    const fd = openSync(tmp, "wx", 0o644);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new MetricsError(`--metrics-textfile: cannot write ${file}: ${(e as Error).message}`, { cause: e });
  }
}

/** The URL as given, without its user and password, for messages. */
export function redactUrl(url: string): string {
  return redactText(url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, "$1"));
}

/** Checks a --pushgateway URL before the run: http or https, with a host. */
export function checkPushgatewayUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new MetricsError(`--pushgateway: '${redactUrl(url)}' is not a URL (e.g. http://pushgateway:9091)`);
  }
  if (!["http:", "https:"].includes(u.protocol) || !u.hostname)
    throw new MetricsError(`--pushgateway: '${redactUrl(url)}' is not an http(s) URL with a host (e.g. http://pushgateway:9091)`);
  if (u.search || u.hash) throw new MetricsError(`--pushgateway: '${redactUrl(url)}' must not carry a query or a fragment`);
  return u;
}

/**
 * Pushes the run's metrics to a Pushgateway, one group per site: grouping key job="dcn_verify" and site, no instance.
 * Each push is a POST (prom-client's pushAdd): it replaces, in the site's group, only the metric names it carries.
 * So a site that failed keeps the dcn_verify_last_success_timestamp_seconds of its last passing run, and a canary
 * verify run (other names) leaves the run's metrics alone, and the other way round. Each push is bounded by timeoutMs;
 * the error names every site that was not pushed and the URL without credentials.
 */
export async function pushMetrics(
  url: string,
  summary: RunSummary,
  cfg?: SiteLabels,
  o: { timeoutMs?: number } = {},
): Promise<{ pushed: string[] }> {
  checkPushgatewayUrl(url);
  const timeoutMs = o.timeoutMs ?? PUSH_TIMEOUT_MS;
  const shown = redactUrl(url);
  // NOTE: the registries are built before any push, so a bad label (a UUID) pushes nothing.
  const groups = await Promise.all(summary.sites.map(async (s) => ({ site: s.site, registry: await registryOf(summary, cfg, s.site) })));
  const results = await Promise.allSettled(
    groups.map(async ({ site, registry }) => {
      const signal = AbortSignal.timeout(timeoutMs);
      const gateway = new Pushgateway(url, { timeout: timeoutMs, signal }, registry);
      try {
        await gateway.pushAdd({ jobName: PUSH_JOB, groupings: { site } });
      } catch (e) {
        const why = signal.aborted ? `no answer within ${timeoutMs / 1000} s` : redactText((e as Error).message).split("\n")[0];
        throw new Error(`site ${site}: ${why}`, { cause: e });
      }
      return site;
    }),
  );
  const failed = results.flatMap((r) => (r.status === "rejected" ? [(r.reason as Error).message] : []));
  if (failed.length) throw new MetricsError(`--pushgateway ${shown}: push failed: ${failed.join("; ")}`);
  return { pushed: results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : [])) };
}

/** --metrics-textfile and --pushgateway, as run and canary verify take them. */
export interface MetricsTargets {
  textfile?: string;
  pushgateway?: string;
}

/** Checks the options before any cloud call; throws naming the option. */
export function checkMetricsTargets(t: { "metrics-textfile"?: string; pushgateway?: string }): MetricsTargets {
  if (t["metrics-textfile"] !== undefined) checkTextfilePath(t["metrics-textfile"]);
  if (t.pushgateway !== undefined) checkPushgatewayUrl(t.pushgateway);
  return {
    ...(t["metrics-textfile"] !== undefined ? { textfile: t["metrics-textfile"] } : {}),
    ...(t.pushgateway !== undefined ? { pushgateway: t.pushgateway } : {}),
  };
}

/** Writes and pushes the run's metrics where asked; each failure is said. true when everything asked for was done. */
export async function exportMetrics(
  summary: RunSummary,
  cfg: SiteLabels | undefined,
  to: MetricsTargets,
  say: (line: string) => void,
): Promise<boolean> {
  let ok = true;
  if (to.textfile !== undefined) {
    try {
      writeMetricsTextfile(to.textfile, await buildMetrics(summary, cfg));
      say(`metrics written to ${resolve(to.textfile)}`);
    } catch (e) {
      say(`metrics: ${redactText((e as Error).message)}`);
      ok = false;
    }
  }
  if (to.pushgateway !== undefined) {
    try {
      const { pushed } = await pushMetrics(to.pushgateway, summary, cfg);
      say(`metrics pushed to ${redactUrl(to.pushgateway)} (job ${PUSH_JOB}, sites ${pushed.join(", ")})`);
    } catch (e) {
      say(`metrics: ${redactText((e as Error).message)}`);
      ok = false;
    }
  }
  return ok;
}
