import type { UserConsoleLog } from "vitest";
import type { Reporter, TestCase, TestModule } from "vitest/node";
import { redactText } from "../core/redact.ts";
import type { SiteSummary } from "./model.ts";
import { LiveProgress } from "./progress.ts";
import { PROGRESS_MARK } from "./steps.ts";

/** Live per-site progress on stderr, and each site's results, kept for the run that made it. */
export class RunReporter implements Reporter {
  private bySite = new Map<string, SiteSummary>();
  /** When each site's first suite file started and its last one ended (ms since the epoch). */
  private windows = new Map<string, { start: number; end?: number }>();
  /** Suite files each site has yet to finish. */
  private filesLeft: Map<string, number>;

  constructor(
    private readonly progress = new LiveProgress(process.stderr),
    files: Record<string, number> = {},
    /** Called once a site's last suite file has ended. */
    private readonly onSiteEnd: (site: string) => void = () => undefined,
  ) {
    this.filesLeft = new Map(Object.entries(files));
  }

  sites(): SiteSummary[] {
    return [...this.bySite.values()].map((s) => {
      const w = this.windows.get(s.site);
      return w?.end ? { ...s, startedAt: new Date(w.start).toISOString(), finishedAt: new Date(w.end).toISOString() } : s;
    });
  }

  onTestModuleStart(m: TestModule): void {
    if (!this.windows.has(m.project.name)) this.windows.set(m.project.name, { start: Date.now() });
  }

  onTestModuleEnd(m: TestModule): void {
    const site = m.project.name;
    const w = this.windows.get(site);
    if (w) w.end = Date.now();
    const left = (this.filesLeft.get(site) ?? 1) - 1;
    this.filesLeft.set(site, left);
    if (left === 0) {
      this.progress.siteDone(site);
      this.onSiteEnd(site);
    }
  }

  onUserConsoleLog(log: UserConsoleLog): void {
    for (const line of log.content.split("\n")) {
      if (!line.startsWith(PROGRESS_MARK)) continue;
      const [, site, ...rest] = line.split(" ");
      this.progress.step(site!, rest.join(" "));
    }
  }

  onTestCaseResult(t: TestCase): void {
    const r = t.result();
    const mark = r.state === "passed" ? "PASS" : r.state === "failed" ? "FAIL" : "SKIP";
    this.progress.result(t.project.name, mark, t.name);
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    this.progress.end();
    const bySite = this.bySite;
    for (const m of modules) {
      const site = m.project.name;
      const s = bySite.get(site) ?? { site, status: "passed", tests: [], errors: [] };
      bySite.set(site, s);
      for (const e of m.errors()) s.errors.push(redactText(e.message ?? String(e)));
      for (const t of m.children.allTests()) {
        const r = t.result();
        const status = r.state === "passed" ? "passed" : r.state === "failed" ? "failed" : "skipped";
        const failure = r.errors?.map((e) => e.message).join("\n");
        s.tests.push({
          id: t.meta().testId ?? t.name,
          title: t.name,
          status,
          durationMs: Math.round(t.diagnostic()?.duration ?? 0),
          tier: t.meta().tier,
          ...(status === "skipped" && t.meta().aboveTier ? { aboveTier: true } : {}),
          ...(status === "failed" ? { failureKind: t.meta().failureKind ?? "harness" } : {}),
          ...(failure ? { failure: redactText(failure) } : r.state === "skipped" && r.note ? { failure: r.note } : {}),
          ...(t.meta().warnings?.length ? { warnings: t.meta().warnings } : {}),
          ...(status === "skipped"
            ? { notVerified: [(r.state === "skipped" && r.note) || t.meta().notVerified?.[0] || "the test did not run"] }
            : t.meta().notVerified?.length
              ? { notVerified: t.meta().notVerified }
              : {}),
        });
      }
      if (s.errors.length || s.tests.some((x) => x.status === "failed") || s.tests.length === 0) s.status = "failed";
    }
  }
}
