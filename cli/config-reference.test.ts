import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { PACKAGE_ROOT } from "../helpers/core/package-root.ts";
import { END, REFERENCE_PAGE, renderConfigReference, START, withReference } from "./config-reference.ts";

describe("the configuration reference in docs/configuration.md", () => {
  test("is what the schema generates (regenerate with npm run docs:config)", () => {
    expect(REFERENCE_PAGE).toBe(join(PACKAGE_ROOT, "docs", "configuration.md"));
    const page = readFileSync(REFERENCE_PAGE, "utf8");
    expect(page.indexOf(START)).toBeGreaterThan(0);
    const section = page.slice(page.indexOf(START), page.indexOf(END) + END.length);
    expect(section).toBe(renderConfigReference());
  });

  test("is not in the README, which links to it", () => {
    const readme = readFileSync(join(PACKAGE_ROOT, "README.md"), "utf8");
    expect(readme).not.toContain(START);
    expect(readme).toContain("(docs/configuration.md)");
  });

  test("describes every field it lists", () => {
    const undescribed = renderConfigReference()
      .split("\n")
      .filter((l) => l.startsWith("| `") && !/^\| [^|]+\| as `/.test(l))
      .filter((l) => l.trimEnd().endsWith("|  |"))
      .map((l) => l.split(" | ")[0]!.slice(2));
    expect(undescribed, "add .describe() to these fields in helpers/config/schema.ts").toEqual([]);
  });

  test("lists the per-site pools and the cephx users' needs", () => {
    const ref = renderConfigReference();
    expect(ref).toContain("| `central.ceph.pools.backups` | one of: string \\| `false` |");
    expect(ref).toContain("| `conformance.cephUsers[].needs[].access` (as a list) | `rwx` \\| `r` | yes |");
    expect(ref).toContain("| `edges[].ceph` | as `central.ceph` | yes |");
  });

  test("is written between the markers only, and a page without them is an error", () => {
    expect(withReference(`a\n${START}\nold\n${END}\nb\n`, `${START}\nnew\n${END}`)).toBe(`a\n${START}\nnew\n${END}\nb\n`);
    expect(() => withReference("no markers", "x")).toThrow(`docs/configuration.md has no '${START}'`);
  });
});
