import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, test } from "vitest";
import { PACKAGE_ROOT } from "../../helpers/core/package-root.ts";

/**
 * The one rule of dependency direction: a module imports only from its own layer or the layers below.
 * Lowest first; a folder not listed is not allowed to be imported by helpers/ at all.
 */
const LAYERS: string[][] = [
  ["helpers/core"],
  ["helpers/config"],
  ["helpers/clients", "helpers/ceph", "helpers/images"],
  ["helpers/harness"],
  ["helpers/checks"],
  ["helpers/ops"],
  ["suites", "lab"],
  ["cli", "bench", "fixtures", "tests"],
];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (n === "node_modules" || n.startsWith(".")) return [];
    return statSync(p).isDirectory() ? sources(p) : p.endsWith(".ts") ? [p] : [];
  });
}

const FILES = ["helpers", "suites", "lab", "cli", "bench", "fixtures", "tests"].flatMap((d) => sources(join(PACKAGE_ROOT, d)));

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs = [...text.matchAll(/(?:from\s+|import\(\s*)"(\.{1,2}\/[^"]+)"/g)].map((m) => m[1]!);
  return specs.map((s) => relative(PACKAGE_ROOT, resolve(dirname(file), s)));
}

const layerOf = (rel: string) => LAYERS.findIndex((l) => l.some((d) => rel === d || rel.startsWith(`${d}/`)));

describe("dependency direction", () => {
  test("no module imports from a layer above its own", () => {
    const upward: string[] = [];
    for (const f of FILES) {
      const from = relative(PACKAGE_ROOT, f);
      for (const to of importsOf(f)) {
        if (layerOf(to) > layerOf(from)) upward.push(`${from} -> ${to}`);
      }
    }
    expect(upward).toEqual([]);
  });

  test("helpers/ and bench/ never import the CLI; helpers/ never imports suites, lab or tests", () => {
    const bad = FILES.flatMap((f) => {
      const from = relative(PACKAGE_ROOT, f);
      return importsOf(f)
        .filter(
          (to) =>
            (from.startsWith("helpers/") && /^(cli|suites|lab|tests)\//.test(to)) ||
            (/^(bench|tests)\//.test(from) && to.startsWith("cli/")),
        )
        .map((to) => `${from} -> ${to}`);
    });
    expect(bad).toEqual([]);
  });

  test("there is no import cycle", () => {
    const graph = new Map(FILES.map((f) => [relative(PACKAGE_ROOT, f), importsOf(f)]));
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const visit = (n: string, path: string[]) => {
      if (state.get(n) === "done") return;
      if (state.get(n) === "open") {
        cycles.push([...path.slice(path.indexOf(n)), n].join(" -> "));
        return;
      }
      state.set(n, "open");
      for (const m of graph.get(n) ?? []) visit(m, [...path, n]);
      state.set(n, "done");
    };
    for (const n of graph.keys()) visit(n, []);
    expect(cycles).toEqual([]);
  });
});
