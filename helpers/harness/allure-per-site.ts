import AllureVitestReporter from "allure-vitest/reporter";
import type { RunnerTask } from "vitest";
import type { TestCase, TestModule, TestSuite } from "vitest/node";

/** The site a describe of suites/sites.test.ts stands for: each site is one describe at the top of the file. */
export function siteOfSuite(s: TestSuite): string | undefined {
  return s.parent.type === "module" ? s.name : undefined;
}

/** The site of the describe a test is in, at any depth; "-" outside every site's. */
export function siteOfTest(t: TestCase): string {
  for (let p = t.parent; p.type === "suite"; p = p.parent) {
    const site = siteOfSuite(p);
    if (site !== undefined) return site;
  }
  return "-";
}

// NOTE: the reported entities carry their runner task, though vitest's types leave it out (allure-vitest reads it the same way).
const taskOf = (e: TestSuite | TestModule) => (e as unknown as { task: RunnerTask }).task;

/**
 * allure-vitest's reporter writes every result when the whole run ends; this one writes a site's results as soon
 * as that site's describe ends, so that a site's results, and its report, need not wait for the slowest site.
 */
export class PerSiteAllureReporter extends AllureVitestReporter {
  private readonly written = new WeakSet<RunnerTask>();

  onTestSuiteResult(s: TestSuite): void {
    if (siteOfSuite(s) === undefined) return;
    // NOTE: handleTask is allure-vitest's own writer of a task's results (reporter.js), used here per site.
    this.handleTask(taskOf(s));
    this.written.add(taskOf(s));
  }

  override onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    for (const m of modules) for (const s of m.children.suites()) if (!this.written.has(taskOf(s))) this.handleTask(taskOf(s));
    super.onTestRunEnd([]);
  }
}
