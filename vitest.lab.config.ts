import { defineConfig } from "vitest/config";

// Tests against the embedded lab ('dcn-verify lab up' first). They break the lab on purpose,
// so they run one file at a time.
export default defineConfig({
  test: {
    include: ["**/*.lab.test.ts"],
    exclude: ["node_modules/**"],
    fileParallelism: false,
    sequence: { concurrent: false },
    testTimeout: 900000,
    hookTimeout: 300000,
    retry: 0,
  },
});
