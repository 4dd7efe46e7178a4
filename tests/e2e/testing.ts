import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { parse, stringify } from "yaml";
import type { RunSummary } from "../../helpers/harness/model.ts";
import { paths, REPO_ROOT } from "../../lab/state.ts";

const BIN = join(REPO_ROOT, "bin", "dcn-verify.mjs");

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

/** Applies a lab fault for the duration of fn, and heals it afterwards whatever happens. */
export async function withFault<T>(site: string, kind: string, fn: () => Promise<T>): Promise<T> {
  const f = await cli(["lab", "fault", site, kind]);
  if (f.exitCode !== 0) throw new Error(`lab fault ${site} ${kind} failed:\n${f.all}`);
  const heal = async () => {
    const h = await cli(["lab", "heal", site]);
    if (h.exitCode !== 0) throw new Error(`lab heal ${site} failed:\n${h.all}`);
  };
  let out: T;
  try {
    out = await fn();
  } catch (e) {
    await heal().catch(() => undefined);
    throw e;
  }
  await heal();
  return out;
}

/** Waits short enough that a lab broken on purpose fails fast (seconds). */
export const SHORT_TIMEOUTS = {
  imageActive: 60,
  copyImage: 60,
  volumeAvailable: 60,
  volumeUpload: 120,
  serverActive: 60,
  serverStopped: 25,
  snapshotAvailable: 30,
  deletion: 45,
  request: 30,
};

/** The lab's own config with some fields replaced (shorter timeouts, say), in a temp file. */
export function labConfigWith(overrides: Record<string, unknown>): string {
  const cfg = parse(readFileSync(paths().config, "utf8")) as Record<string, unknown>;
  for (const [k, v] of Object.entries(overrides)) {
    cfg[k] = typeof v === "object" && v && !Array.isArray(v) ? { ...(cfg[k] as object), ...v } : v;
  }
  const dir = mkdtempSync(join(tmpdir(), "dcnv-cfg-"));
  const file = join(dir, "dcn-verify.yaml");
  writeFileSync(file, stringify(cfg), { mode: 0o600 });
  return file;
}

export interface HarnessRun {
  exitCode: number;
  output: string;
  runDir: string;
  summary: RunSummary;
}

/**
 * dcn-verify run against the lab, at tier disruptive unless args say otherwise (the lab is there to be
 * disrupted) or asTyped asks for the command exactly as an operator types it.
 */
export async function runHarness(
  args: string[],
  o: { onLine?: (line: string) => void; reports?: string; env?: Record<string, string>; asTyped?: boolean } = {},
): Promise<HarnessRun> {
  const reports = o.reports ?? mkdtempSync(join(tmpdir(), "dcnv-reports-"));
  const tier = args.includes("--tier") || o.asTyped ? [] : ["--tier", "disruptive"];
  const child = execa(process.execPath, [BIN, "run", "--reports", reports, ...tier, ...args], {
    reject: false,
    timeout: 1200000,
    all: true,
    env: o.env ? { ...process.env, ...o.env } : undefined,
  });
  if (o.onLine) {
    let buf = "";
    child.all!.on("data", (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split("\n");
      buf = lines.pop()!;
      for (const l of lines) o.onLine!(l);
    });
  }
  const r = await child;
  const runDir = join(reports, "latest");
  let summary: RunSummary;
  try {
    summary = JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8"));
  } catch {
    throw new Error(`the run wrote no summary (exit ${r.exitCode}):\n${r.all}`);
  }
  return { exitCode: r.exitCode ?? -1, output: r.all ?? "", runDir, summary };
}

export function testOf(run: HarnessRun, site: string, id: string) {
  const s = run.summary.sites.find((x) => x.site === site);
  const t = s?.tests.find((x) => x.id === id);
  if (!t)
    throw new Error(
      `no test ${id} for ${site} in the summary: ${JSON.stringify(run.summary.sites.map((x) => [x.site, x.tests.map((y) => y.id)]))}`,
    );
  return t;
}
