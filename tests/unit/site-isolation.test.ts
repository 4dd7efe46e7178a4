import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { runFixture } from "./fixtures/run-fixture.ts";
import { PerSiteAllureReporter } from "../../helpers/harness/allure-per-site.ts";
import { dependencyModule } from "../../helpers/core/package-root.ts";
import { LiveProgress } from "../../helpers/harness/progress.ts";
import { RunReporter } from "../../helpers/harness/reporter.ts";

/** The sites of the Allure results written so far, one entry per result. */
function sitesWritten(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith("-result.json"))
    .map((f) => (JSON.parse(readFileSync(join(dir, f), "utf8")) as { labels: { name: string; value: string }[] }).labels)
    .map((labels) => labels.find((l) => l.name === "site")?.value ?? "?");
}

test("in the one worker, a site that hangs or fails holds back neither another site's results nor its report", async () => {
  const dir = mkdtempSync(join(tmpdir(), "dcnv-isolation-"));
  const ended: { site: string; at: number; written: string[] }[] = [];
  const started = Date.now();
  const lines: string[] = [];
  const progress = new LiveProgress({ write: (text: string) => lines.push(text) });
  const reporter = new RunReporter(progress, ["hangs", "fails", "passes", "leaks"], (site) =>
    ended.push({ site, at: Date.now() - started, written: sitesWritten(dir) }),
  );
  try {
    await runFixture("three-sites.fixture.ts", {
      maxConcurrency: 4,
      setupFiles: [dependencyModule("allure-vitest/setup")],
      reporters: [new PerSiteAllureReporter({ resultsDir: dir }), reporter],
    });
    expect(ended.map((e) => e.site).sort()).toEqual(["fails", "hangs", "leaks", "passes"]);
    expect(ended.at(-1)!.site).toBe("hangs");
    const passes = ended.find((e) => e.site === "passes")!;
    // The passing site's results were all written, and its report begun, while the other still hung (until its timeout).
    expect(passes.at).toBeLessThan(ended.at(-1)!.at);
    expect(passes.written.filter((s) => s === "passes")).toHaveLength(3);
    // Each result line names the site whose describe the test is in.
    expect(lines.filter((l) => l.includes(" PASS ") && !l.startsWith("[leaks]")).sort()).toEqual([
      "[passes] PASS step 1\n",
      "[passes] PASS step 2\n",
      "[passes] PASS step 3\n",
    ]);
    expect(lines).toContain("[hangs] FAIL a step that never ends\n");
    const summary = Object.fromEntries(reporter.sites().map((s) => [s.site, s]));
    expect(summary.passes).toMatchObject({ status: "passed", errors: [] });
    expect(summary.passes!.tests.map((t) => t.status)).toEqual(["passed", "passed", "passed"]);
    expect(summary.hangs!.status).toBe("failed");
    expect(summary.hangs!.tests[0]!.failure).toMatch(/Test timed out in 4000ms/);
    expect(summary.fails!.status).toBe("failed");
    expect(summary.fails!.errors.join("\n")).toMatch(/the site context did not open/);
    // What a site's cleanup left behind is its cleanup, not a setup error, and fails the site.
    expect(summary.leaks).toMatchObject({ status: "failed", errors: [] });
    expect(summary.leaks!.cleanup).toEqual([
      "[leaks] cleanup left resources behind:\nvolume dcnv-r-leaks-volume (1111) at leaks: HTTP 409: volume is in-use",
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60000);
