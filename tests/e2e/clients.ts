import { readFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { paths, REPO_ROOT } from "../../lab/state.ts";

export const BIN = join(REPO_ROOT, "bin", "dcn-verify.mjs");

/** Runs the dcn-verify CLI as an operator would. */
export async function cli(args: string[], o: { env?: Record<string, string>; timeoutMs?: number } = {}) {
  return execa(process.execPath, [BIN, ...args], { reject: false, timeout: o.timeoutMs ?? 900000, env: o.env, all: true });
}

/** The OS_* variables of the lab's openrc, for the stock OpenStack clients. */
export function labEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(join(paths().root, "openrc"), "utf8").split("\n")) {
    const m = /^export (\w+)='?([^']*)'?$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
  return env;
}

export async function stock(cmd: string, args: string[]) {
  return execa(cmd, args, { env: labEnv(), reject: false, timeout: 120000 });
}
