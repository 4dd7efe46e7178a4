import { defineConfig } from "vitest/config";

// Unit tests: no cloud, no lab; recorded responses under fixtures/.
export default defineConfig({
  test: {
    include: ["helpers/**/*.test.ts", "lab/**/*.test.ts", "cli/**/*.test.ts", "suites/**/*.test.ts"],
    exclude: ["**/*.lab.test.ts", "suites/central.test.ts", "suites/edge.test.ts", "suites/multistore.test.ts", "suites/conformance.test.ts", "node_modules/**"],
    testTimeout: 20000,
  },
});
