import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { allSites, loadConfig } from "../../helpers/config/load.ts";
import type { RunSummary } from "../../helpers/harness/model.ts";
import { paths, REPO_ROOT } from "../../lab/state.ts";

/** Every file under dir with its size and mtime: what a command wrote there shows as a difference. */
function listing(dir: string, root = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? listing(p, root) : [`${relative(root, p)} ${statSync(p).size} ${statSync(p).mtimeMs}`];
  });
}

/** An empty directory outside the checkout with the packed tarball installed in it, as docs/running-elsewhere.md says. */
let dir: string;
let app: string;
let installed: string;
let before: string[];

const dcnVerify = (args: string[]) =>
  execa("npx", ["--no", "dcn-verify", ...args], { cwd: app, reject: false, all: true, timeout: 300000 });

describe("the npm package, installed outside the checkout", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "dcnv-package-"));
    const pack = await execa("npm", ["pack", "--json", "--pack-destination", dir], { cwd: REPO_ROOT, reject: false, all: true });
    expect(pack.exitCode, pack.all).toBe(0);
    const tarball = join(dir, (JSON.parse(pack.stdout) as { filename: string }[])[0]!.filename);
    app = join(dir, "app");
    mkdirSync(app);
    const install = await execa("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts", tarball], {
      cwd: app,
      reject: false,
      all: true,
    });
    expect(install.exitCode, install.all).toBe(0);
    installed = join(app, "node_modules", "dcn-verify");
    expect(readdirSync(installed).sort()).toEqual([
      "README.md",
      "bin",
      "cli",
      "examples",
      "helpers",
      "lab",
      "package.json",
      "suites",
      "tsconfig.json",
    ]);
    before = listing(installed);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("dcn-verify plan --config <lab config> plans the lab's sites", async () => {
    const sites = allSites(await loadConfig(paths().config)).map((s) => s.name);
    const plan = await dcnVerify(["plan", "--config", paths().config]);
    expect(plan.exitCode, plan.all).toBe(0);
    expect([...plan.stdout.matchAll(/^(\S+): \d+ of \d+ tests$/gm)].map((m) => m[1])).toEqual(sites);
    expect(listing(installed)).toEqual(before);
  });

  test("dcn-verify run runs the installed suites and writes its reports under the cwd, nothing into the package", async () => {
    const run = await dcnVerify(["run", "--config", paths().config, "--tier", "read-only", "--sites", "dcn0", "--suites", "rules"]);
    const runDir = join(app, "reports", "latest");
    expect(existsSync(join(runDir, "summary.json")), run.all).toBe(true);
    const summary = JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8")) as RunSummary;
    const dcn0 = summary.sites.find((s) => s.site === "dcn0")!;
    expect(dcn0.errors, run.all).toEqual([]);
    expect(dcn0.tests.find((t) => t.id === "rule-1-same-names")?.status, run.all).toBe("passed");
    expect(existsSync(join(runDir, "dcn0", "report", "index.html"))).toBe(true);
    expect(listing(installed)).toEqual(before);
  });
});
