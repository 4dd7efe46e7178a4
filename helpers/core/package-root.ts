import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The dcn-verify package's own folder (package.json, suites/, helpers/): a checkout, or where npm installed it. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

const requireHere = createRequire(import.meta.url);

/**
 * The file a dependency's command runs (its package.json `bin`), found by module resolution from this
 * package, wherever npm put the dependency (nested, or hoisted beside dcn-verify).
 */
export function dependencyBin(pkg: string, command = pkg): string {
  let dir = dirname(requireHere.resolve(pkg));
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      const p = JSON.parse(readFileSync(manifest, "utf8")) as { name?: string; bin?: string | Record<string, string> };
      if (p.name === pkg) {
        const bin = typeof p.bin === "string" ? p.bin : p.bin?.[command];
        if (!bin) throw new Error(`${pkg} (${dir}) has no command ${command}`);
        return join(dir, bin);
      }
    }
    if (dirname(dir) === dir) throw new Error(`no package.json of ${pkg} above ${requireHere.resolve(pkg)}`);
    dir = dirname(dir);
  }
}

/** A dependency's module (`pkg/sub` as its exports map has it) as an absolute path, resolved from this package. */
export function dependencyModule(specifier: string): string {
  return requireHere.resolve(specifier);
}

/** dcn-verify's folder in the user's cache (where bin/dcn-verify.mjs keeps the CLI's bundle), made if missing; undefined where it cannot be. */
export function userCacheDir(sub: string): string | undefined {
  const dir = join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "dcn-verify", sub);
  try {
    mkdirSync(dir, { recursive: true });
    return dir;
  } catch {
    return undefined;
  }
}
