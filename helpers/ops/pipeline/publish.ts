import { readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createCephProbe, hasCephAccess } from "../../ceph/probe.ts";
import type { Clients } from "../../clients/index.ts";
import { allSites } from "../../config/load.ts";
import type { Config } from "../../config/schema.ts";
import { limiter, settleAll } from "../../core/concurrency.ts";
import { PACKAGE_ROOT } from "../../core/package-root.ts";
import { redactText } from "../../core/redact.ts";
import { countResults } from "../../harness/gates.ts";
import type { RunSummary, SiteSummary } from "../../harness/model.ts";
import { formatRbdLeftover } from "../../harness/rbd-leftovers.ts";
import { AllureResultsBySite, ReportGenerator, writeEnvironment } from "../reports/allure.ts";
import { writeFleetPage } from "../reports/fleet.ts";
import { junitXml } from "../reports/junit.ts";

/**
 * What run and merge write of a judged run, the same way: summary.json and junit.xml, then (once the sites' reports
 * are built) the fleet page, index.html, and reports/latest pointing at the run. A fleet page that cannot be written
 * is said, not fatal.
 */
export async function publish(o: {
  runDir: string;
  reportsRoot: string;
  summary: RunSummary;
  /** The sites' reports, still being built (a run's); the fleet page links into them. */
  siteReports?: Promise<void>;
  log: (line: string) => void;
}): Promise<void> {
  const { runDir, reportsRoot, summary } = o;
  writeFileSync(join(runDir, "summary.json"), JSON.stringify(summary, null, 2));
  writeFileSync(join(runDir, "junit.xml"), junitXml(summary));
  await o.siteReports;
  try {
    writeFleetPage(runDir, reportsRoot, summary);
  } catch (e) {
    o.log(`the fleet page was not written: ${redactText((e as Error).message)}`);
  }
  const latest = join(reportsRoot, "latest");
  rmSync(latest, { force: true });
  symlinkSync(summary.runId, latest);
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
export class SiteReports {
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

  /** The reports of these sites, begun now if they were not. */
  async finish(sites: string[]): Promise<void> {
    await settleAll(sites.map((s) => this.begin(s)));
    await this.generator.close();
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

/** The final table: per site, its result, what passed, failed, warned and was not verified, its wall time and gates. */
export function summaryTable(sites: SiteSummary[]): string {
  const rows = [["site", "result", "passed", "failed", "known", "warnings", "not verified", "time", "gates"]];
  for (const s of sites) {
    const n = s.counts ?? countResults(s.tests);
    // NOTE: a site's suite files overlap: its time is its wall time, not the sum of its tests'.
    const secs =
      (s.startedAt && s.finishedAt ? Date.parse(s.finishedAt) - Date.parse(s.startedAt) : s.tests.reduce((a, t) => a + t.durationMs, 0)) /
      1000;
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
export function formatOutcome(out: { runDir: string; summary?: RunSummary }): string {
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
