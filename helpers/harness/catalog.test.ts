import { describe, expect, test } from "vitest";
import { type CatalogEntry, deriveCatalog } from "./catalog.ts";
import { defineSuite } from "./suite.ts";

const entry = (id: string, o: Partial<CatalogEntry> = {}): CatalogEntry => ({
  id,
  group: "procedure",
  where: "edge",
  tier: "read-only",
  creates: [],
  ...o,
});

describe("the catalog derived from the suites' declarations", () => {
  test("keeps the suites' order, each test with its suite's group", () => {
    const ids = deriveCatalog([
      { group: "procedure", tests: [entry("a-1"), entry("a-2", { provides: ["x"] }), entry("a-3", { needs: ["x"] })] },
      { group: "rules", tests: [entry("b-1", { group: "procedure" })] },
    ]).map((e) => `${e.group}:${e.id}`);
    expect(ids).toEqual(["procedure:a-1", "procedure:a-2", "procedure:a-3", "rules:b-1"]);
  });

  test("an id declared twice is an error", () => {
    expect(() =>
      deriveCatalog([
        { group: "procedure", tests: [entry("a-1")] },
        { group: "rules", tests: [entry("a-1")] },
      ]),
    ).toThrow("a-1 is declared twice");
  });

  test("a need that no earlier test of the suite provides, at the same sites, is an error", () => {
    expect(() =>
      deriveCatalog([{ group: "procedure", tests: [entry("a-1", { needs: ["x"] }), entry("a-2", { provides: ["x"] })] }]),
    ).toThrow("a-1 needs x, which no earlier test of its suite provides");
    expect(() =>
      deriveCatalog([
        { group: "procedure", tests: [entry("a-1", { provides: ["x"] })] },
        { group: "rules", tests: [entry("b-1", { needs: ["x"] })] },
      ]),
    ).toThrow("b-1 needs x, which no earlier test of its suite provides");
    expect(() =>
      deriveCatalog([{ group: "procedure", tests: [entry("a-1", { where: "central", provides: ["x"] }), entry("a-2", { needs: ["x"] })] }]),
    ).toThrow("a-2 needs x, which a-1 (central) provides; it needs one earlier test of procedure at the same sites (edge)");
    expect(() =>
      deriveCatalog([
        {
          group: "procedure",
          tests: [entry("a-1", { provides: ["x"] }), entry("a-2", { provides: ["x"] }), entry("a-3", { needs: ["x"] })],
        },
      ]),
    ).toThrow("a-3 needs x, which a-1 (edge), a-2 (edge) provide");
  });

  test("a suite's declarations are read without running a body, a describe of vitest or anything of the run", () => {
    const ran: string[] = [];
    const suite = defineSuite("rules", (s) => {
      s.describe(`rules at ${s.site}`, () => {
        s.test(
          { id: "r-1", title: `one at ${s.site}`, where: "edge", tier: "standard", creates: ["a volume"], holds: { volumes: 1 } },
          async () => {
            ran.push(s.run.tier);
          },
        );
        s.test({ id: "r-2", title: "two", where: "every", tier: "read-only", admin: { why: "admin-only" } }, async () => {
          ran.push("r-2");
        });
      });
    });
    expect(suite.group).toBe("rules");
    expect(suite.tests).toEqual([
      { id: "r-1", group: "rules", where: "edge", tier: "standard", creates: ["a volume"], holds: { volumes: 1 } },
      { id: "r-2", group: "rules", where: "every", tier: "read-only", creates: [], admin: { why: "admin-only" } },
    ]);
    expect(ran).toEqual([]);
    expect(() => defineSuite("rules", (s) => void s.run.tier)).toThrow("suite rules: run.tier is read only in a test's body");
  });
});
