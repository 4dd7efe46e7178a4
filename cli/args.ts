import { resolve } from "node:path";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { labConfigPath } from "../helpers/config/lab-path.ts";
import { resolveConfigPath } from "../helpers/config/load.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ options: O; allowPositionals: true }>>;

/**
 * A command's arguments, or the exit code when there is nothing to run: 0 after --help (usage on
 * stdout), 2 after a bad option (the error and the usage on stderr).
 */
export function parseCommand<O extends Options>(argv: string[], options: O, usage: string, maxPositionals = 0): Parsed<O> | number {
  let parsed: Parsed<O>;
  try {
    parsed = parseArgs({ args: argv, options: { ...options, help: { type: "boolean" } }, allowPositionals: true }) as Parsed<O>;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${usage}\n`);
    return 2;
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (parsed.positionals.length > maxPositionals) {
    process.stderr.write(`unexpected argument '${parsed.positionals[maxPositionals]}'\n${usage}\n`);
    return 2;
  }
  return parsed;
}

/** The options that select what a run does; run and plan take the same. */
export const SELECTION_OPTIONS = {
  config: { type: "string" },
  overlay: { type: "string" },
  sites: { type: "string" },
  suites: { type: "string" },
  tests: { type: "string" },
  tier: { type: "string" },
  "allow-writes": { type: "boolean" },
} as const;

/** --config, else $DCN_VERIFY_CONFIG, else the embedded lab's config when the lab is up. */
export function configPathOf(arg: string | undefined): string {
  return resolveConfigPath(arg, { labConfigPath: labConfigPath() });
}

/**
 * --overlay: hosts, ports, paths and fsids laid over the config (helpers/config/overlay.ts). It travels as
 * $DCN_VERIFY_OVERLAY, which every later loadConfig of the run (its test workers too) reads.
 */
export function useOverlay(arg: string | undefined): void {
  if (arg) process.env.DCN_VERIFY_OVERLAY = resolve(arg);
}
