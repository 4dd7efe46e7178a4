import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { UserConsoleLog } from "vitest";
import type { Reporter, TestCase, TestModule } from "vitest/node";
import type { SiteGates } from "./gates.ts";
import { redactText } from "./redact.ts";
import { PROGRESS_MARK } from "./steps.ts";
import type {} from "../suites/support.ts";

export interface TestSummary {
  id: string;
  title: string;
  status: "passed" | "failed" | "skipped";
  durationMs: number;
  tier?: string;
  /** For a failure: product, infrastructure or harness. */
  failureKind?: string;
  failure?: string;
}

export interface SiteSummary {
  site: string;
  status: "passed" | "failed";
  tests: TestSummary[];
  /** Errors outside a test: setup, or cleanup that left resources behind. */
  errors: string[];
  /** The site's quality gates, evaluated at the end of the run. */
  gates?: SiteGates;
}

export interface RunSummary {
  runId: string;
  /** Which cloud the run was against (no credentials): diff refuses to compare runs of different clouds. */
  cloud?: { authUrl: string; region: string; project: string };
  tier?: string;
  suites?: string[];
  startedAt: string;
  finishedAt: string;
  interrupted: boolean;
  sites: SiteSummary[];
}

/** Live per-site progress on stderr, and summary.json at the end. */
export default class RunReporter implements Reporter {
  private readonly runDir: string;

  constructor(o: { runDir: string }) {
    this.runDir = o.runDir;
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
    const bySite = new Map<string, SiteSummary>();
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
          id: t.meta().testId ?? t.name, title: t.name, status, durationMs: Math.round(t.diagnostic()?.duration ?? 0), tier: t.meta().tier,
          ...(status === "failed" ? { failureKind: t.meta().failureKind ?? "harness" } : {}),
          ...(failure ? { failure: redactText(failure) } : r.state === "skipped" && r.note ? { failure: r.note } : {}),
        });
      }
      if (s.errors.length || s.tests.some((x) => x.status === "failed") || s.tests.length === 0) s.status = "failed";
    }
    writeFileSync(join(this.runDir, "sites.json"), JSON.stringify([...bySite.values()], null, 2));
  }
}
