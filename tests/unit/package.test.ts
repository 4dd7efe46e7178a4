import { existsSync, readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { execa } from "execa";
import { describe, expect, test } from "vitest";
import { SITES_ENTRY, suiteFile } from "../../helpers/harness/catalog.ts";
import { CATALOG } from "../../suites/index.ts";
import { dependencyBin, dependencyModule, PACKAGE_ROOT } from "../../helpers/core/package-root.ts";

// What `npm pack` puts in the tarball; the lab test tests/e2e/package.lab.test.ts installs it and runs it.
const packed = await execa("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: PACKAGE_ROOT });
const FILES: string[] = (JSON.parse(packed.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
const manifest = JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as {
  bin: Record<string, string>;
  dependencies: Record<string, string>;
};

/** Imported only after checking that it exists: cli/main.ts says the lab comes with a checkout. */
const CHECKOUT_ONLY = ["lab/cli.ts"];

function importsOf(file: string): { spec: string; typeOnly: boolean }[] {
  const text = readFileSync(join(PACKAGE_ROOT, file), "utf8");
  return [...text.matchAll(/^(import type|import|export)\b[^;]*?\bfrom\s+"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)/gms)].map((m) => ({
    spec: (m[2] ?? m[3])!,
    typeOnly: m[1] === "import type",
  }));
}

describe("the npm package", () => {
  test("holds the command, the suites the catalog runs and what they import, and no tests, bench, fixtures or lab", () => {
    for (const bin of Object.values(manifest.bin)) expect(FILES).toContain(bin);
    for (const group of new Set(CATALOG.map((e) => e.group))) expect(FILES).toContain(relative(PACKAGE_ROOT, suiteFile(group)));
    expect(FILES).toContain("tsconfig.json");
    expect(FILES.filter((f) => /^(tests|bench|fixtures|reports|\.lab|\.ci)\//.test(f))).toEqual([]);
    expect(FILES.filter((f) => f.startsWith("lab/"))).toEqual(["lab/state.ts"]);
    expect(FILES.filter((f) => f.endsWith(".test.ts") && !f.startsWith("suites/"))).toEqual([]);
  });

  test("holds the CLI's entry, the sites' test file the run executes, and the examples; nothing else at the top", () => {
    expect(FILES).toContain("cli/main.ts");
    // 'dcn-verify run' runs this file (helpers/ops/pipeline/execute.ts includes SITES_ENTRY): the one kind of *.test.ts packed.
    expect(FILES).toContain(SITES_ENTRY);
    expect(FILES.filter((f) => f.startsWith("helpers/")).length).toBeGreaterThan(0);
    // The example configs (and whatever else examples/ holds for operators: rules, CI templates) ship with it.
    const examples = readdirSync(join(PACKAGE_ROOT, "examples"), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && !e.name.endsWith(".test.ts"))
      .map((e) => relative(PACKAGE_ROOT, join(e.parentPath, e.name)));
    expect(examples.length).toBeGreaterThan(0);
    for (const f of examples) expect(FILES).toContain(f);
    // Of the documentation, only the README (and a LICENSE, once there is one); no guides, scripts or tool configs.
    expect(FILES).toContain("README.md");
    const top = new Set(FILES.map((f) => (f.includes("/") ? `${f.split("/")[0]}/` : f)));
    const allowed = ["bin/", "cli/", "helpers/", "suites/", "lab/", "examples/", "package.json", "tsconfig.json", "README.md", "LICENSE"];
    expect([...top].filter((t) => !allowed.includes(t))).toEqual([]);
  });

  test("every module it imports is in the package, a dependency (not a devDependency) or a Node built-in", () => {
    const missing: string[] = [];
    for (const file of FILES.filter((f) => /\.(ts|mjs)$/.test(f))) {
      for (const { spec, typeOnly } of importsOf(file)) {
        if (spec.startsWith(".")) {
          const target = relative(PACKAGE_ROOT, resolve(dirname(join(PACKAGE_ROOT, file)), spec));
          if (!FILES.includes(target) && !CHECKOUT_ONLY.includes(target)) missing.push(`${file} imports ${target}`);
        } else if (!typeOnly && !spec.startsWith("node:") && !builtinModules.includes(spec)) {
          const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!;
          if (!(name in manifest.dependencies)) missing.push(`${file} imports ${spec}, not in dependencies`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  test("Allure's command and allure-vitest's modules are found by module resolution", () => {
    const cli = dependencyBin("allure");
    expect(existsSync(cli)).toBe(true);
    expect(JSON.parse(readFileSync(join(dirname(cli), "package.json"), "utf8")).name).toBe("allure");
    for (const m of ["allure-vitest/setup", "allure-vitest/reporter"]) expect(existsSync(dependencyModule(m))).toBe(true);
    expect(() => dependencyBin("vitest", "no-such-command")).toThrow(/vitest .* has no command no-such-command/);
  });
});
