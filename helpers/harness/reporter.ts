import type { UserConsoleLog } from "vitest";
import type { Reporter, TestCase, TestModule } from "vitest/node";
import { redactText } from "../core/redact.ts";
import type { SiteSummary } from "./model.ts";
import { PROGRESS_MARK } from "./steps.ts";

/** Live per-site progress on stderr, and each site's results, kept for the run that made it. */
export class RunReporter implements Reporter {
  private bySite = new Map<string, SiteSummary>();

  sites(): SiteSummary[] {
    return [...this.bySite.values()];
  }

  onUserConsoleLog(log: UserConsoleLog): void {
    for (const line of log.content.split("\n")) {
      if (!line.startsWith(PROGRESS_MARK)) continue;
      const [, site, ...rest] = line.split(" ");
      process.stderr.write(`[${site}] ${rest.join(" ")}\n`);
    }
  }

  onTestCaseResult(t: TestCase): void {
    const r = t.result();
    const mark = r.state === "passed" ? "PASS" : r.state === "failed" ? "FAIL" : "SKIP";
    process.stderr.write(`[${t.project.name}] ${mark} ${t.name}\n`);
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
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
