import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { inject } from "vitest";
import { parse, stringify } from "yaml";
import type { RunSummary } from "../../helpers/harness/model.ts";
import { fault, heal, siteUp } from "../../lab/index.ts";
import { paths } from "../../lab/state.ts";
import { formatStatus } from "../../lab/status.ts";
import { BIN, cli, labEnv, stock } from "./clients.ts";
import { STOCK_EVIDENCE } from "./fault-evidence.ts";

export { cli, labEnv, stock };

/**
 * Applies a lab fault for the duration of fn, and heals it afterwards whatever happens. Where the
 * stock clients can see the fault (STOCK_EVIDENCE), that is checked first.
 */
export async function withFault<T>(site: string, kind: string, fn: () => Promise<T>): Promise<T> {
  await labFault(site, kind);
  let out: T;
  try {
    await STOCK_EVIDENCE[kind]?.(site);
    out = await fn();
  } catch (e) {
    await labHeal(site).catch(() => undefined);
    throw e;
  }
  await labHeal(site);
  return out;
}

/**
 * 'lab fault', in this process. NOTE: a CLI process costs about a second of start-up for each of the lab tests'
 * hundred-odd faults and heals; lab.lab tests the CLI's own path.
 */
export async function labFault(site: string, kind: string): Promise<void> {
  try {
    await fault(site, kind);
  } catch (e) {
    throw new Error(`lab fault ${site} ${kind} failed: ${(e as Error).message}`, { cause: e });
  }
}

/** 'lab heal <site>', in this process: it fails unless the site is up again. */
export async function labHeal(site: string): Promise<void> {
  const st = await heal(site);
  if (!siteUp(st, site)) throw new Error(`lab heal ${site}: the site is not up again:\n${formatStatus(st)}`);
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
 * disrupted) or asTyped asks for the command exactly as an operator types it; without the HTML reports unless
 * html asks for them.
 */
export async function runHarness(
  args: string[],
  o: { onLine?: (line: string) => void; reports?: string; env?: Record<string, string>; asTyped?: boolean; html?: boolean } = {},
): Promise<HarnessRun> {
  const reports = o.reports ?? mkdtempSync(join(tmpdir(), "dcnv-reports-"));
  const tier = args.includes("--tier") || o.asTyped ? [] : ["--tier", "disruptive"];
  // NOTE: the HTML reports cost about 1.5 CPU seconds a site; only the tests that read them (html, or the typed run) build them.
  const html = o.html || o.asTyped ? [] : ["--no-html"];
  const child = execa(process.execPath, [BIN, "run", "--reports", reports, ...tier, ...html, ...args], {
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

/**
 * The run an operator types first, `dcn-verify run` with no options, on the healthy lab: made once per
 * vitest invocation and shared by the files that judge it (run.lab, conformance.lab).
 */
export async function typedRun(): Promise<HarnessRun> {
  const memo = join(tmpdir(), `dcnv-e2e-typed-run-${inject("e2eSession")}.json`);
  if (existsSync(memo)) return JSON.parse(readFileSync(memo, "utf8")) as HarnessRun;
  const run = await runHarness([], { asTyped: true });
  writeFileSync(memo, JSON.stringify(run), { mode: 0o600 });
  return run;
}

export function testOf(run: Pick<HarnessRun, "summary">, site: string, id: string) {
  const s = run.summary.sites.find((x) => x.site === site);
  const t = s?.tests.find((x) => x.id === id);
  if (!t)
    throw new Error(
      `no test ${id} for ${site} in the summary: ${JSON.stringify(run.summary.sites.map((x) => [x.site, x.tests.map((y) => y.id)]))}`,
    );
  return t;
}
