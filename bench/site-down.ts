// npm run bench:site-down [-- --site dcn0 --runs 1]
// One edge's Ceph down (lab fault mon-down) against the healthy lab: `dcn-verify run` at the default
// tier, timed end to end. Target: the run with the site down ends within 60 s of the healthy run.
// Prints the figures and writes them to bench/results/site-down.json.

import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { execa } from "execa";
import type { RunSummary } from "../helpers/harness/model.ts";
import { REPO_ROOT } from "../lab/state.ts";

const BIN = join(REPO_ROOT, "bin", "dcn-verify.mjs");
const TARGET_S = 60;
const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

async function cli(args: string[]): Promise<void> {
  const r = await execa(process.execPath, [BIN, ...args], { reject: false, all: true, timeout: 600_000 });
  if (r.exitCode !== 0) throw new Error(`dcn-verify ${args.join(" ")} failed:\n${r.all}`);
}

async function timedRun(): Promise<{ wallS: number; exitCode: number; summary: RunSummary }> {
  const reports = mkdtempSync(join(tmpdir(), "dcnv-bench-"));
  const t0 = performance.now();
  const r = await execa(process.execPath, [BIN, "run", "--reports", reports], { reject: false, all: true, timeout: 1800_000 });
  const wallS = +((performance.now() - t0) / 1000).toFixed(1);
  const summary = JSON.parse(readFileSync(join(reports, "latest", "summary.json"), "utf8")) as RunSummary;
  return { wallS, exitCode: r.exitCode ?? -1, summary };
}

const perSite = (s: RunSummary) =>
  Object.fromEntries(
    s.sites.map((x) => [x.site, { status: x.status, seconds: +(x.tests.reduce((a, t) => a + t.durationMs, 0) / 1000).toFixed(1) }]),
  );

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { site: { type: "string", default: "dcn0" }, runs: { type: "string", default: "1" } } });
  const site = values.site!;
  const runs = Math.max(1, Number(values.runs));
  const rows: { healthyS: number; downS: number; deltaS: number; healthy: unknown; down: unknown }[] = [];
  for (let i = 0; i < runs; i++) {
    log(`healthy run ${i + 1}/${runs}`);
    const healthy = await timedRun();
    if (healthy.exitCode !== 0) throw new Error(`the healthy run failed (exit ${healthy.exitCode}): the comparison needs a passing lab`);
    log(`lab fault ${site} mon-down, run ${i + 1}/${runs}`);
    await cli(["lab", "fault", site, "mon-down"]);
    let down: Awaited<ReturnType<typeof timedRun>>;
    try {
      down = await timedRun();
    } finally {
      await cli(["lab", "heal", site]);
    }
    const unreachable = down.summary.sites.find((s) => s.site === site)?.ceph?.state;
    if (unreachable !== "unreachable") throw new Error(`the run did not find ${site} unreachable (found: ${unreachable})`);
    rows.push({
      healthyS: healthy.wallS,
      downS: down.wallS,
      deltaS: +(down.wallS - healthy.wallS).toFixed(1),
      healthy: perSite(healthy.summary),
      down: perSite(down.summary),
    });
  }
  const worst = Math.max(...rows.map((r) => r.deltaS));
  const out = { at: new Date().toISOString(), site, targetS: TARGET_S, worstDeltaS: worst, met: worst <= TARGET_S, rows };
  mkdirSync(join(REPO_ROOT, "bench", "results"), { recursive: true });
  writeFileSync(join(REPO_ROOT, "bench", "results", "site-down.json"), `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`\n| run | healthy | ${site} Ceph down | down - healthy | target |\n|---|---|---|---|---|\n`);
  rows.forEach((r, i) =>
    process.stdout.write(
      `| ${i + 1} | ${r.healthyS} s | ${r.downS} s | ${r.deltaS} s | <= ${TARGET_S} s ${r.deltaS <= TARGET_S ? "met" : "NOT met"} |\n`,
    ),
  );
  process.stdout.write(`\nratio (down - healthy) / target: ${(worst / TARGET_S).toFixed(2)}\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`bench: ${e.message}\n`);
  process.exit(1);
});
