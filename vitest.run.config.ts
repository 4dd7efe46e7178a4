import { join } from "node:path";
import { defineConfig } from "vitest/config";
import { readRunInfo } from "./helpers/run-context.ts";

// The config of 'dcn-verify run': one project per site, all sites in parallel, each site's tests in order.
const run = readRunInfo();
const [central, ...edges] = run.sites;

export default defineConfig({
  test: {
    setupFiles: ["allure-vitest/setup"],
    pool: "threads",
    maxWorkers: run.sites.length,
    fileParallelism: true,
    testTimeout: run.testTimeoutMs,
    hookTimeout: run.testTimeoutMs,
    retry: 0,
    reporters: [
      [join(import.meta.dirname, "helpers", "run-reporter.ts"), { runDir: run.runDir }],
      ["allure-vitest/reporter", { resultsDir: join(run.runDir, "allure-results") }],
      ["junit", { outputFile: join(run.runDir, "junit.xml"), suiteName: `dcn-verify ${run.runId}` }],
    ],
    projects: [
      ...(central ? [{ extends: true as const, test: { name: central, include: ["suites/central.test.ts"], provide: { site: central } } }] : []),
      ...edges.map((site) => ({ extends: true as const, test: { name: site, include: ["suites/edge.test.ts"], provide: { site } } })),
    ],
  },
});
