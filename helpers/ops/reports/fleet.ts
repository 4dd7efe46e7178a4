import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { countResults } from "../../harness/gates.ts";
import type { RunSummary, SiteSummary, TestSummary } from "../../harness/model.ts";
import { RUN_ID } from "../../harness/naming.ts";
import { loadRun } from "../../harness/run-record.ts";

/** What a cell of the fleet page shows for one test at one site. */
export type Verdict = "passed" | "failed" | "warning" | "not verified";

export function verdictOf(t: TestSummary): Verdict {
  if (t.status === "failed") return "failed";
  if (t.status === "skipped" || t.notVerified?.length) return "not verified";
  if (t.warnings?.length) return "warning";
  return "passed";
}

/** A site's verdict (its tests, errors, cleanup and gates, judged); a summary older than verdicts: its status. */
const sitePassed = (s: SiteSummary) => (s.verdict ? s.verdict.ok : s.status === "passed");

/** Where a test's page is in its site's Allure report: the report's result id for each test title; null: no report (--no-html). */
export type ReportLinks = Record<string, Record<string, string> | null>;

/** The Allure result ids of each site's report, by test title (read after the reports are built). */
export function reportLinks(runDir: string, sites: string[]): ReportLinks {
  const links: ReportLinks = {};
  for (const site of sites) {
    if (!existsSync(join(runDir, site, "report", "index.html"))) {
      links[site] = null;
      continue;
    }
    links[site] = {};
    for (const r of reportResults(join(runDir, site, "report"))) links[site]![r.name] = r.id;
  }
  return links;
}

/** A test's result as its site's Allure report holds it. */
export interface ReportResult {
  id: string;
  name: string;
  steps?: { name: string; type?: string }[];
}

/**
 * The test results a site's report holds: inlined in its index.html as d("data/test-results/<id>.json","<base64>")
 * (Allure's single file), or the files under data/test-results.
 */
export function reportResults(reportDir: string): ReportResult[] {
  const dir = join(reportDir, "data", "test-results");
  const texts = existsSync(dir)
    ? readdirSync(dir)
        .filter((x) => x.endsWith(".json"))
        .map((f) => () => readFileSync(join(dir, f), "utf8"))
    : inlined(reportDir, (path) => /^data\/test-results\/[^/]+\.json$/.test(path)).map((f) => f.text);
  const out: ReportResult[] = [];
  for (const text of texts) {
    try {
      const r = JSON.parse(text()) as Partial<ReportResult>;
      if (r.id && r.name) out.push(r as ReportResult);
    } catch {
      // NOTE: a result Allure could not write whole is left out; its cell links to the site's report.
    }
  }
  return out;
}

/** Earlier runs of the same cloud in the reports folder, newest first (at most limit). */
export function earlierRuns(reportsRoot: string, run: RunSummary, limit = 10): RunSummary[] {
  if (!existsSync(reportsRoot)) return [];
  const out: RunSummary[] = [];
  for (const id of readdirSync(reportsRoot)
    .filter((d) => RUN_ID.test(d) && d < run.runId)
    .sort()
    .reverse()) {
    let s: RunSummary;
    try {
      s = loadRun(id, reportsRoot);
    } catch {
      continue;
    }
    if (run.cloud && s.cloud && (s.cloud.authUrl !== run.cloud.authUrl || s.cloud.region !== run.cloud.region)) continue;
    // NOTE: a shard is part of a run; the run merged from its shards stands for it in the trend.
    if (s.shard) continue;
    out.push(s);
    if (out.length >= limit) break;
  }
  return out;
}

const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");

const CLASS: Record<Verdict, string> = { passed: "p", failed: "f", warning: "w", "not verified": "n" };
const MARK: Record<Verdict, string> = { passed: "✔", failed: "✘", warning: "!", "not verified": "?" };

function seconds(s: SiteSummary): string {
  if (!s.startedAt || !s.finishedAt) return "";
  return `${((Date.parse(s.finishedAt) - Date.parse(s.startedAt)) / 1000).toFixed(1)} s`;
}

/**
 * The fleet page: a static, offline HTML page with a sites × tests matrix (each cell links to the test in its
 * site's Allure report), each site's counts and timings, and the trend over earlier runs of the same cloud.
 */
export function fleetPage(run: RunSummary, links: ReportLinks, earlier: RunSummary[] = []): string {
  const sites = run.sites;
  const tests: { id: string; title: string }[] = [];
  for (const s of sites) for (const t of s.tests) if (!tests.some((x) => x.id === t.id)) tests.push({ id: t.id, title: t.title });
  const cell = (s: SiteSummary, id: string) => {
    const t = s.tests.find((x) => x.id === id);
    if (!t) return `<td class="x" title="not run at ${esc(s.site)}"></td>`;
    const v = verdictOf(t);
    const result = links[s.site]?.[t.title];
    const href = `${encodeURIComponent(s.site)}/report/index.html${result ? `#${encodeURIComponent(result)}` : ""}`;
    const why = t.failure ?? t.notVerified?.join("; ") ?? t.warnings?.join("; ") ?? "";
    const title = esc(`${s.site} ${id}: ${v}${why ? ` — ${why.slice(0, 300)}` : ""}`);
    const mark =
      links[s.site] === null ? `<span title="${title}">${MARK[v]}</span>` : `<a href="${esc(href)}" title="${title}">${MARK[v]}</a>`;
    return `<td class="${CLASS[v]}" data-site="${esc(s.site)}" data-test="${esc(id)}" data-verdict="${v}">${mark}</td>`;
  };
  const head = sites
    .map((s) =>
      links[s.site] === null
        ? `<th title="no HTML report (--no-html)">${esc(s.site)}</th>`
        : `<th><a href="${esc(encodeURIComponent(s.site))}/report/index.html">${esc(s.site)}</a></th>`,
    )
    .join("");
  const rows = tests
    .map((t) => `<tr><th class="t" title="${esc(t.title)}">${esc(t.id)}</th>${sites.map((s) => cell(s, t.id)).join("")}</tr>`)
    .join("\n");
  const siteRows = sites
    .map((s) => {
      const c = s.counts ?? countResults(s.tests);
      const test = (s.tests.reduce((n, t) => n + t.durationMs, 0) / 1000).toFixed(1);
      return `<tr data-site="${esc(s.site)}"><th>${esc(s.site)}</th><td class="${sitePassed(s) ? "p" : "f"}" title="${esc(s.verdict?.reasons.join("\n") ?? "")}">${sitePassed(s) ? "PASSED" : "FAILED"}</td><td>${c.passed}</td><td>${c.failed}</td><td>${c.warnings}</td><td>${c.notVerified}</td><td>${esc(s.startedAt ?? "")}</td><td>${seconds(s)}</td><td>${test} s</td></tr>`;
    })
    .join("\n");
  const trendSites = [...new Set([...sites.map((s) => s.site), ...earlier.flatMap((r) => r.sites.map((s) => s.site))])];
  const trendRow = (r: RunSummary) =>
    `<tr><th>${esc(r.runId)}</th>${trendSites
      .map((site) => {
        const s = r.sites.find((x) => x.site === site);
        if (!s) return `<td class="x"></td>`;
        const c = s.counts ?? countResults(s.tests);
        return `<td class="${sitePassed(s) ? "p" : "f"}" title="${c.passed} passed, ${c.failed} failed, ${c.warnings} warnings, ${c.notVerified} not verified">${c.passed}/${c.failed}/${c.notVerified}</td>`;
      })
      .join("")}</tr>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dcn-verify ${esc(run.runId)}: the fleet</title>
<style>
body{font:13px system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:1.5em}
th,td{border:1px solid #ccc;padding:2px 6px;text-align:center}th.t{text-align:left;font-weight:normal}
td a{text-decoration:none;color:inherit;display:block}.p{background:#cfc}.f{background:#f99}.w{background:#fe9}.n{background:#ddd}.x{background:#fff}
</style></head><body>
<h1>dcn-verify ${esc(run.runId)}</h1>
<p>tier ${esc(run.tier ?? "")}; ${sites.length} sites; started ${esc(run.startedAt)}, finished ${esc(run.finishedAt)}${run.interrupted ? "; <b>interrupted</b>" : ""}.
✔ passed, ✘ failed, ! warning, ? not verified; each cell links to the test in its site's report.</p>
<h2>Sites × tests</h2>
<table id="matrix"><tr><th>test</th>${head}</tr>
${rows}
</table>
<h2>Sites</h2>
<table id="sites"><tr><th>site</th><th>result</th><th>passed</th><th>failed</th><th>warnings</th><th>not verified</th><th>started</th><th>wall</th><th>test time</th></tr>
${siteRows}
</table>
<h2>Trend</h2>
<p>passed/failed/not verified per site, this run and the earlier runs of the same cloud in this reports folder.</p>
<table id="trend"><tr><th>run</th>${trendSites.map((s) => `<th>${esc(s)}</th>`).join("")}</tr>
${[run, ...earlier].map(trendRow).join("\n")}
</table>
</body></html>
`;
}

/** Writes the run's fleet page, index.html at the top of its run folder. */
export function writeFleetPage(runDir: string, reportsRoot: string, run: RunSummary): string {
  const file = join(runDir, "index.html");
  writeFileSync(
    file,
    fleetPage(
      run,
      reportLinks(
        runDir,
        run.sites.map((s) => s.site),
      ),
      earlierRuns(reportsRoot, run),
    ),
  );
  return file;
}

/** A data file of a site's report (e.g. widgets/categories.json): beside its index.html, or inlined in it. */
export function reportFile(reportDir: string, name: string): string | undefined {
  const file = join(reportDir, name);
  if (existsSync(file)) return readFileSync(file, "utf8");
  return inlined(reportDir, (path) => path === name)[0]?.text();
}

/** The data files Allure's single-file report inlines in its index.html, as d("<path>","<base64>"), by path. */
function inlined(reportDir: string, wanted: (path: string) => boolean): { name: string; text: () => string }[] {
  const html = readFileSync(join(reportDir, "index.html"), "utf8");
  return [...html.matchAll(/d\("([^"]+)","([A-Za-z0-9+/=]*)"\)/g)]
    .filter((m) => wanted(m[1]!))
    .map((m) => ({ name: m[1]!, text: () => Buffer.from(m[2]!, "base64").toString("utf8") }));
}
