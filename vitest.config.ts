import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

// The harness's own tests. The suites under suites/ are not run from here: 'dcn-verify run' runs
// suites/sites.test.ts, every site in one worker, from the catalog (helpers/ops/pipeline/execute.ts).
export default defineConfig({
  test: {
    projects: [
      {
        // No cloud, no lab: recorded responses under fixtures/.
        test: {
          name: "unit",
          include: ["helpers/**/*.test.ts", "lab/**/*.test.ts", "cli/**/*.test.ts", "tests/unit/**/*.test.ts"],
          setupFiles: ["tests/catalog-setup.ts"],
          testTimeout: 20000,
          // NOTE: the files share each worker's modules (no module mocks; each test sets up its own state): 22 s
          // instead of 53 s, which is what 'lab up' waits on in npm test. Passed in shuffled orders.
          isolate: false,
          // NOTE: at least three workers, even on two cores: many files wait (timers, subprocesses, sockets); 21-24 s
          // instead of 47 s there.
          maxWorkers: Math.max(3, availableParallelism() - 1),
        },
      },
      {
        // Against the embedded lab ('dcn-verify lab up' first). They break the lab on purpose, so they run one file at a time.
        test: {
          name: "e2e",
          include: ["tests/e2e/**/*.lab.test.ts"],
          globalSetup: ["tests/e2e/global-setup.ts"],
          setupFiles: ["tests/catalog-setup.ts"],
          fileParallelism: false,
          sequence: { concurrent: false },
          testTimeout: 900000,
          hookTimeout: 300000,
          retry: 0,
        },
      },
      {
        // Against the lab reshaped with 'lab up --profile <p> --edges 1', one file per profile (scripts/test.sh).
        test: {
          name: "profiles",
          include: ["tests/profiles/**/*.lab.test.ts"],
          globalSetup: ["tests/e2e/global-setup.ts"],
          setupFiles: ["tests/catalog-setup.ts"],
          fileParallelism: false,
          testTimeout: 900000,
          hookTimeout: 300000,
          retry: 0,
        },
      },
    ],
  },
});
