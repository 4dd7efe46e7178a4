import AllureVitestReporter from "allure-vitest/reporter";
import type { RunnerTask } from "vitest";
import type { TestModule } from "vitest/node";

const key = (m: TestModule) => `${m.project.name}\0${m.moduleId}`;

/**
 * allure-vitest's reporter writes every result when the whole run ends; this one writes a suite file's results as
 * soon as that file ends, so that a site's results, and its report, need not wait for the slowest site.
 */
export class PerFileAllureReporter extends AllureVitestReporter {
  private readonly written = new Set<string>();

  onTestModuleEnd(m: TestModule): void {
    // NOTE: handleTask is allure-vitest's own writer of a task's results (reporter.js), used here per suite file; the
    // module's task is there, though vitest's types leave it out (allure-vitest reads it the same way).
    this.handleTask((m as unknown as { task: RunnerTask }).task);
    this.written.add(key(m));
  }

  override onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    super.onTestRunEnd(modules.filter((m) => !this.written.has(key(m))));
  }
}
