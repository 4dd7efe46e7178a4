import type { Label } from "allure-js-commons";
import type { RuntimeMessage } from "allure-js-commons/sdk";
import AllureVitestReporter from "allure-vitest/reporter";
import type { RunnerTask, TaskMeta } from "vitest";
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

/** The labels a test's Allure result takes from its facts (its meta) and its site: written by no one else. */
export function allureLabelsOf(site: string, meta: TaskMeta): Label[] {
  return [
    { name: "site", value: site },
    ...(meta.testId ? [{ name: "testId", value: meta.testId }] : []),
    ...(meta.tier ? [{ name: "tier", value: meta.tier }] : []),
    ...(meta.tier ? [{ name: "tag", value: meta.tier }] : []),
    { name: "tag", value: site },
    ...(meta.failure ? [{ name: "failure", value: meta.failure.category }] : []),
  ];
}

const DERIVED = new Set(["site", "testId", "tier", "tag", "failure"]);

/** Puts the labels derived from each test's meta into its Allure messages, in place of any of those names written at run time. */
function labelTests(site: string, task: RunnerTask): void {
  if (task.type === "suite") return task.tasks.forEach((t) => labelTests(site, t));
  const meta = task.meta as TaskMeta & { allureRuntimeMessages?: RuntimeMessage[] };
  const messages = (meta.allureRuntimeMessages ?? []).map((m) =>
    m.type === "metadata" && m.data.labels ? { ...m, data: { ...m.data, labels: m.data.labels.filter((l) => !DERIVED.has(l.name)) } } : m,
  );
  meta.allureRuntimeMessages = [...messages, { type: "metadata", data: { labels: allureLabelsOf(site, task.meta) } }];
}

/**
 * allure-vitest's reporter writes every result when the whole run ends; this one writes a site's results as soon
 * as that site's describe ends, so that a site's results, and its report, need not wait for the slowest site.
 */
export class PerSiteAllureReporter extends AllureVitestReporter {
  private readonly written = new WeakSet<RunnerTask>();

  onTestSuiteResult(s: TestSuite): void {
    if (siteOfSuite(s) === undefined) return;
    this.write(s.name, taskOf(s));
  }

  override onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    for (const m of modules) for (const s of m.children.suites()) if (!this.written.has(taskOf(s))) this.write(s.name, taskOf(s));
    super.onTestRunEnd([]);
  }

  private write(site: string, task: RunnerTask): void {
    labelTests(site, task);
    // NOTE: handleTask is allure-vitest's own writer of a task's results (reporter.js), used here per site.
    this.handleTask(task);
    this.written.add(task);
  }
}
