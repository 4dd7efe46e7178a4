import type { Reporter, TestCase, TestModule, TestSuite } from "vitest/node";
import { siteOfSuite, siteOfTest } from "./allure-per-site.ts";
import { redactText } from "../core/redact.ts";
import type { SiteSummary } from "./model.ts";
import { listenProgress, LiveProgress } from "./progress.ts";

/** Live per-site progress on stderr, and each site's results, kept for the run that made it. */
export class RunReporter implements Reporter {
  private bySite = new Map<string, SiteSummary>();
  /** When each site's suite files started and ended (ms since the epoch). */
  private windows = new Map<string, { start: number; end?: number }>();

  constructor(
    private readonly progress = new LiveProgress(process.stderr),
    /** The sites of the run: a file that did not load fails each of them with its error. */
    private readonly planned: readonly string[] = [],
    /** Called once a site's describe has ended, its results written. */
    private readonly onSiteEnd: (site: string) => void = () => undefined,
  ) {}

  sites(): SiteSummary[] {
    return [...this.bySite.values()].map((s) => {
      const w = this.windows.get(s.site);
      return w?.end ? { ...s, startedAt: new Date(w.start).toISOString(), finishedAt: new Date(w.end).toISOString() } : s;
    });
  }

  // NOTE: a site's window is that of its suite files: the site's own describe is ready before it waits for its turn
  // among the sites in flight (site-layout.ts), and its files end before it hands its turn on.
  onTestSuiteReady(s: TestSuite): void {
    const site = s.parent.type === "suite" ? siteOfSuite(s.parent) : undefined;
    if (site !== undefined && !this.windows.has(site)) this.windows.set(site, { start: Date.now() });
  }

  onTestSuiteResult(s: TestSuite): void {
    const file = s.parent.type === "suite" ? siteOfSuite(s.parent) : undefined;
    if (file !== undefined) {
      const w = this.windows.get(file);
      if (w) w.end = Date.now();
      return;
    }
    const site = siteOfSuite(s);
    if (site === undefined) return;
    this.progress.siteDone(site);
    this.onSiteEnd(site);
  }

  private listening: { close(): void } | undefined;

  /** The worker's progress events, each a typed record (sendProgress), from now until close(). */
  onInit(): void {
    this.listening ??= listenProgress((e) => this.progress.event(e));
  }

  /** Stops taking progress events: once the runner has closed. */
  close(): void {
    this.listening?.close();
    this.listening = undefined;
  }

  onTestCaseResult(t: TestCase): void {
    const r = t.result();
    const mark = r.state === "passed" ? "PASS" : r.state === "failed" ? "FAIL" : "SKIP";
    this.progress.result(siteOfTest(t), mark, t.name);
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    this.progress.end();
    const bySite = this.bySite;
    for (const m of modules) {
      // NOTE: an error of the file itself (it did not load, or a hook of the Allure setup failed) is every site's.
      const fileErrors = m.errors().map((e) => redactText(e.message ?? String(e)));
      for (const siteSuite of m.children.suites()) {
        const site = siteSuite.name;
        const s = bySite.get(site) ?? { site, status: "passed", tests: [], errors: [] };
        bySite.set(site, s);
        s.errors.push(...fileErrors);
        for (const inner of [siteSuite, ...siteSuite.children.allSuites()])
          for (const e of inner.errors()) {
            const text = redactText(e.message ?? String(e));
            if (e.name === "CleanupLeftoversError") (s.cleanup ??= []).push(text);
            else s.errors.push(text);
          }
        for (const t of siteSuite.children.allTests()) s.tests.push(testSummary(t));
        if (s.errors.length || s.cleanup?.length || s.tests.some((x) => x.status === "failed") || s.tests.length === 0) s.status = "failed";
      }
      if (fileErrors.length)
        for (const site of this.planned.filter((p) => !bySite.has(p)))
          bySite.set(site, { site, status: "failed", tests: [], errors: fileErrors });
    }
  }
}

function testSummary(t: TestCase): SiteSummary["tests"][number] {
  const r = t.result();
  const status = r.state === "passed" ? "passed" : r.state === "failed" ? "failed" : "skipped";
  const failure = r.errors?.map((e) => e.message).join("\n");
  return {
    id: t.meta().testId ?? t.name,
    title: t.name,
    status,
    durationMs: Math.round(t.diagnostic()?.duration ?? 0),
    tier: t.meta().tier,
    ...(status === "skipped" && t.meta().aboveTier ? { aboveTier: true } : {}),
    ...(status === "failed" ? { failureKind: t.meta().failure?.category ?? "harness" } : {}),
    ...(failure ? { failure: redactText(failure) } : r.state === "skipped" && r.note ? { failure: r.note } : {}),
    ...(t.meta().warnings?.length ? { warnings: t.meta().warnings } : {}),
    ...(status === "skipped"
      ? { notVerified: [(r.state === "skipped" && r.note) || t.meta().notVerified?.[0] || "the test did not run"] }
      : t.meta().notVerified?.length
        ? { notVerified: t.meta().notVerified }
        : {}),
  };
}
