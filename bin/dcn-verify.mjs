#!/usr/bin/env node
// Entry point. The CLI's TypeScript runs from a bundle that esbuild makes on first use, and again whenever a source
// changes, in the user's cache (never in the package); where none can be made (no esbuild, no writable cache), through
// tsx's loader with the package's own tsconfig (not the one in the cwd).
// NOTE: through tsx, loading the CLI's modules takes about 1.5 s of every command (each import crosses to the loader's
// thread); from the bundle, about 0.4 s.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cache = join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "dcn-verify");

/** Changes with the package's place and any source of the bundle (cli/, helpers/, lab/, suites/, tsconfig.json, package.json). */
function sourcesKey() {
  const h = createHash("sha256").update(root);
  const files = ["tsconfig.json", "package.json"];
  for (const dir of ["cli", "helpers", "lab", "suites"])
    for (const name of readdirSync(join(root, dir), { recursive: true }).sort())
      if (name.endsWith(".ts") && !name.endsWith(".test.ts")) files.push(join(dir, name));
  for (const f of files) h.update(`\0${f}\0`).update(readFileSync(join(root, f)));
  return `cli-${h.digest("hex").slice(0, 20)}`;
}

async function build(out) {
  const { build } = await import("esbuild");
  const tmp = `${out}.tmp-${process.pid}`;
  await build({
    entryPoints: [join(root, "cli", "main.ts")],
    outdir: tmp,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    tsconfig: join(root, "tsconfig.json"),
    logLevel: "silent",
    // NOTE: the bundle lives outside the package; import.meta.url is read only by helpers/core/package-root.ts (the
    // package's folder, and where its dependencies resolve from), and by the main-module checks of scripts.
    define: { "import.meta.url": JSON.stringify(pathToFileURL(join(root, "helpers", "core", "package-root.ts")).href) },
    plugins: [
      {
        // The dependencies stay outside the bundle, imported from where this package resolves them.
        name: "dependencies-from-the-package",
        setup: (b) => b.onResolve({ filter: /^[^./]/ }, (a) => ({ path: import.meta.resolve(a.path), external: true })),
      },
    ],
  });
  // NOTE: commands started together may each build; the first rename wins and the others use its bundle.
  try {
    renameSync(tmp, out);
  } catch {
    rmSync(tmp, { recursive: true, force: true });
  }
  // Bundles of older sources, left a day for the commands that may still be loading from them.
  for (const name of readdirSync(cache))
    if (name.startsWith("cli-") && !out.endsWith(name) && Date.now() - statSync(join(cache, name)).mtimeMs > 86400000)
      rmSync(join(cache, name), { recursive: true, force: true });
}

async function bundled() {
  if (process.env.DCN_VERIFY_NO_BUNDLE) return undefined;
  let out;
  try {
    out = join(cache, sourcesKey());
    if (!existsSync(join(out, "main.mjs"))) {
      mkdirSync(cache, { recursive: true });
      await build(out);
    }
    return await import(pathToFileURL(join(out, "main.mjs")).href);
  } catch {
    // A bundle that does not load (a dependency moved) is made again by the next command.
    if (out) rmSync(out, { recursive: true, force: true });
    return undefined;
  }
}

let cli = await bundled();
if (!cli) {
  const { register } = await import("tsx/esm/api");
  register({ tsconfig: join(root, "tsconfig.json") });
  cli = await import("../cli/main.ts");
}
process.exitCode = await cli.main(process.argv.slice(2));
