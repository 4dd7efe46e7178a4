import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { CATALOG, suiteFile } from "../../helpers/harness/catalog.ts";
import { CANARY_GROUPS, SUITE_GROUPS } from "../../helpers/harness/model.ts";

describe("the catalog and the suites", () => {
  test.each([...SUITE_GROUPS, ...CANARY_GROUPS])("suites/%s.suite.ts declares exactly the catalog's tests of its group", (group) => {
    const declared = [...readFileSync(suiteFile(group), "utf8").matchAll(/\btest\(\s*"([a-z0-9-]+)"/g)].map((m) => m[1]);
    expect([...declared].sort()).toEqual(
      CATALOG.filter((e) => e.group === group)
        .map((e) => e.id)
        .sort(),
    );
    expect(new Set(declared).size).toBe(declared.length);
  });
});
