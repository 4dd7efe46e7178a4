import { join } from "node:path";
import { defineConfig } from "vitest/config";
import { readRunInfo } from "./helpers/run-context.ts";

// The config of 'dcn-verify run': one project per site, all sites in parallel, each site's tests in order.
const run = readRunInfo();
const [central, ...edges] = run.sites;
const has = (g: string) => run.suites.some((x) => x === g);
const conformance = has("conformance") ? ["suites/conformance.test.ts"] : [];
const centralFiles = [...(has("procedure") ? ["suites/central.test.ts"] : []), ...(has("multistore") ? ["suites/multistore.test.ts"] : []), ...conformance];
// The edge rules run in the edge file, after the procedure, so they judge what it left settled.
const edgeFiles = [...(has("procedure") || has("rules") ? ["suites/edge.test.ts"] : []), ...conformance];

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
      ...(central && centralFiles.length ? [{ extends: true as const, test: { name: central, include: centralFiles, provide: { site: central } } }] : []),
      ...(edgeFiles.length ? edges : []).map((site) => ({ extends: true as const, test: { name: site, include: edgeFiles, provide: { site } } })),
    ],
  },
});
