import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { END, README, renderConfigReference, START, withReference } from "./config-reference.ts";

describe("the README's configuration reference", () => {
  test("is what the schema generates (regenerate with npm run docs:config)", () => {
    const readme = readFileSync(README, "utf8");
    const section = readme.slice(readme.indexOf(START), readme.indexOf(END) + END.length);
    expect(section).toBe(renderConfigReference());
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

  test("is written between the markers only, and a README without them is an error", () => {
    expect(withReference(`a\n${START}\nold\n${END}\nb\n`, `${START}\nnew\n${END}`)).toBe(`a\n${START}\nnew\n${END}\nb\n`);
    expect(() => withReference("no markers", "x")).toThrow(`README.md has no '${START}'`);
  });
});
