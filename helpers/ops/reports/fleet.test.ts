import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { earlierRuns, fleetPage, reportFile, reportLinks, verdictOf } from "./fleet.ts";
import type { RunSummary, TestSummary } from "../../harness/model.ts";

const t = (id: string, over: Partial<TestSummary> = {}): TestSummary => ({
  id,
  title: `title of ${id}`,
  status: "passed",
  durationMs: 1000,
  ...over,
});

const run = (runId: string, authUrl = "http://keystone/v3"): RunSummary => ({
  runId,
  cloud: { authUrl, region: "RegionOne", project: "admin" },
  tier: "standard",
  startedAt: "2026-12-01T10:00:00.000Z",
  finishedAt: "2026-12-01T10:03:00.000Z",
  interrupted: false,
  sites: [
    { site: "central", status: "passed", errors: [], tests: [t("dcn-1-stores"), t("dcn-2-raw-import", { warnings: ["<b>bold</b>"] })] },
    {
      site: "dcn0",
      status: "failed",
      errors: [],
      startedAt: "2026-12-01T10:00:01.000Z",
      finishedAt: "2026-12-01T10:02:31.500Z",
      tests: [t("dcn-3-copy-to-edge", { status: "failed", failure: "copy failed" }), t("dcn-5-rbd-parent", { status: "skipped" })],
    },
  ],
});

describe("the fleet page", () => {
  test("a verdict per test: failed, then not verified (skipped or partly), then warning, else passed", () => {
    expect(verdictOf(t("a", { status: "failed", warnings: ["w"] }))).toBe("failed");
    expect(verdictOf(t("a", { status: "skipped" }))).toBe("not verified");
    expect(verdictOf(t("a", { notVerified: ["no host"], warnings: ["w"] }))).toBe("not verified");
    expect(verdictOf(t("a", { warnings: ["w"] }))).toBe("warning");
    expect(verdictOf(t("a"))).toBe("passed");
  });

  test("has a cell for every site and test, each linking to the test in its site's report", () => {
    const html = fleetPage(run("20261201t100000-abcd"), { dcn0: { "title of dcn-3-copy-to-edge": "r-1" } });
    const cells = [
      ...html.matchAll(/<td class="(\w)" data-site="(\w+)" data-test="([\w-]+)" data-verdict="([\w ]+)"><a href="([^"]+)"/g),
    ].map((m) => [m[2], m[3], m[4], m[5]]);
    expect(cells).toEqual([
      ["central", "dcn-1-stores", "passed", "central/report/index.html"],
      ["central", "dcn-2-raw-import", "warning", "central/report/index.html"],
      ["dcn0", "dcn-3-copy-to-edge", "failed", "dcn0/report/index.html#r-1"],
      ["dcn0", "dcn-5-rbd-parent", "not verified", "dcn0/report/index.html"],
    ]);
    // A test a site does not run is an empty cell, not a pass.
    expect(html).toContain(`<td class="x" title="not run at dcn0"></td>`);
    expect(html).toContain("&lt;b&gt;bold&lt;/b&gt;");
    expect(html).not.toContain("<b>bold</b>");
    expect(html).toMatch(
      /<tr data-site="dcn0"><th>dcn0<\/th><td class="f" title="">FAILED<\/td><td>0<\/td><td>1<\/td><td>0<\/td><td>1<\/td><td>2026-12-01T10:00:01.000Z<\/td><td>150.5 s<\/td>/,
    );
  });

  test("a site is coloured by its verdict: all passed but --strict not met is red", () => {
    const r = run("20261201t100000-abcd");
    r.sites[0] = { ...r.sites[0]!, verdict: { ok: false, reasons: ["gate maxWarnings not met: 1 warning(s) (at most 0)"] } };
    expect(fleetPage(r, {})).toContain(
      `<tr data-site="central"><th>central</th><td class="f" title="gate maxWarnings not met: 1 warning(s) (at most 0)">FAILED</td>`,
    );
  });

  test("the trend lists this run and the earlier runs of the same cloud, newest first", () => {
    const root = mkdtempSync(join(tmpdir(), "dcnv-fleet-"));
    for (const [id, auth] of [
      ["20261130t090000-0001", "http://keystone/v3"],
      ["20261130t100000-0002", "http://other/v3"],
      ["20261130t110000-0003", "http://keystone/v3"],
      ["20261202t110000-0004", "http://keystone/v3"],
    ] as const) {
      mkdirSync(join(root, id));
      writeFileSync(join(root, id, "summary.json"), JSON.stringify(run(id, auth)));
    }
    mkdirSync(join(root, "20261130t120000-0005"));
    const now = run("20261201t100000-abcd");
    const earlier = earlierRuns(root, now);
    expect(earlier.map((r) => r.runId)).toEqual(["20261130t110000-0003", "20261130t090000-0001"]);
    const trend = fleetPage(now, {}, earlier).split('<table id="trend">')[1]!;
    expect([...trend.matchAll(/<tr><th>(\d{8}t\d{6}-\w{4})<\/th>/g)].map((m) => m[1])).toEqual([
      "20261201t100000-abcd",
      "20261130t110000-0003",
      "20261130t090000-0001",
    ]);
  });

  test("reads each site's Allure result ids by test title", () => {
    const dir = mkdtempSync(join(tmpdir(), "dcnv-fleet-"));
    const results = join(dir, "dcn0", "report", "data", "test-results");
    mkdirSync(results, { recursive: true });
    writeFileSync(join(results, "a.json"), JSON.stringify({ id: "r-1", name: "title of dcn-3" }));
    writeFileSync(join(results, "b.json"), "{ not json");
    writeFileSync(join(dir, "dcn0", "report", "index.html"), "<html></html>");
    mkdirSync(join(dir, "dcn1", "report"), { recursive: true });
    writeFileSync(join(dir, "dcn1", "report", "index.html"), "<html></html>");
    expect(reportLinks(dir, ["dcn0", "dcn1", "dcn2"])).toEqual({ dcn0: { "title of dcn-3": "r-1" }, dcn1: {}, dcn2: null });
  });

  test("reads them, and any data file, from a single-file report's index.html", () => {
    const dir = mkdtempSync(join(tmpdir(), "dcnv-fleet-"));
    mkdirSync(join(dir, "dcn0", "report"), { recursive: true });
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64");
    writeFileSync(
      join(dir, "dcn0", "report", "index.html"),
      `<script>d("data/test-results/r-2.json","${b64({ id: "r-2", name: "title of dcn-4" })}"),` +
        `d("data/test-results/r-3.json","${Buffer.from("{ not json").toString("base64")}"),` +
        `d("widgets/categories.json","${b64({ items: ["Product defects"] })}")</script>`,
    );
    expect(reportLinks(dir, ["dcn0"])).toEqual({ dcn0: { "title of dcn-4": "r-2" } });
    expect(reportFile(join(dir, "dcn0", "report"), "widgets/categories.json")).toContain("Product defects");
    expect(reportFile(join(dir, "dcn0", "report"), "widgets/other.json")).toBeUndefined();
  });

  test("a site without an HTML report (--no-html) has its verdicts and no links", () => {
    const page = fleetPage(
      {
        runId: "20261201t100000-aaaa",
        startedAt: "",
        finishedAt: "",
        interrupted: false,
        sites: [
          { site: "dcn0", status: "passed", errors: [], tests: [{ id: "dcn-1-stores", title: "1.", status: "passed", durationMs: 1 }] },
        ],
      },
      { dcn0: null },
    );
    expect(page).toContain('data-verdict="passed"><span title="dcn0 dcn-1-stores: passed">✔</span></td>');
    expect(page).toContain('<th title="no HTML report (--no-html)">dcn0</th>');
    expect(page).not.toContain("dcn0/report/index.html");
  });
});
