// npm run bench [-- --sizes 1,2,4,8] [--skip-image] [--skip-scaling]
// Measures, on the embedded lab, dcn-verify against the manual way and against itself as the lab grows.
// Prints a table of ratios and writes the raw numbers to bench/results/latest.json.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { execa } from "execa";
import type { RunSummary } from "../helpers/harness/model.ts";
import { DEFAULT_MAX_PARALLEL } from "../helpers/ops/selection.ts";
import { generateRawImage } from "../helpers/images/source.ts";
import { paths, REPO_ROOT, readState } from "../lab/state.ts";
import { labEnv } from "../tests/e2e/testing.ts";
import { measurePolling, type PollingFigures } from "./polling.ts";

const BIN = join(REPO_ROOT, "bin", "dcn-verify.mjs");

interface Timed {
  wallS: number;
  cpuS: number;
  maxRssMB: number;
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A child process under /usr/bin/time: wall time, CPU seconds and peak RSS. */
async function timed(cmd: string, args: string[], env?: Record<string, string>): Promise<Timed> {
  const out = join(mkdtempSync(join(tmpdir(), "dcnv-bench-")), "time");
  const r = await execa("/usr/bin/time", ["-f", "%e %U %S %M", "-o", out, cmd, ...args], { reject: false, env, timeout: 3600_000 });
  const [e, u, s, m] = readFileSync(out, "utf8").trim().split("\n").at(-1)!.split(" ").map(Number) as [number, number, number, number];
  return {
    wallS: e,
    cpuS: +(u + s).toFixed(2),
    maxRssMB: Math.round(m / 1024),
    exitCode: r.exitCode ?? -1,
    stdout: r.stdout,
    stderr: r.stderr,
  };
}

const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

async function labUp(edges: number): Promise<void> {
  log(`lab up --edges ${edges}`);
  const r = await execa(process.execPath, [BIN, "lab", "up", "--edges", String(edges)], { reject: false, all: true, timeout: 1800_000 });
  if (r.exitCode !== 0) throw new Error(`lab up --edges ${edges} failed:\n${r.all}`);
}

interface AllureStep {
  name?: string;
  status?: string;
  steps?: AllureStep[];
  attachments?: { name: string; source: string }[];
}

/** Named steps that passed (each one a check the test makes or an action it verifies), and the seconds spent in waits. */
function evidence(runDir: string, site: string): { checks: number; waitedS: number } {
  const dir = join(runDir, site, "allure-results");
  let checks = 0;
  let waitedS = 0;
  const walk = (s: AllureStep) => {
    for (const c of s.steps ?? []) {
      if (c.status === "passed") checks++;
      walk(c);
    }
    for (const a of s.attachments ?? []) {
      if (!a.name.startsWith("wait: ")) continue;
      const w = JSON.parse(readFileSync(join(dir, a.source), "utf8")) as { elapsedSeconds?: number };
      waitedS += w.elapsedSeconds ?? 0;
    }
  };
  for (const f of readdirSync(dir).filter((x) => x.endsWith("-result.json")))
    walk(JSON.parse(readFileSync(join(dir, f), "utf8")) as AllureStep);
  return { checks, waitedS: +waitedS.toFixed(1) };
}

interface RunFigures extends Timed {
  edges: number;
  args: string[];
  passed: boolean;
  checksPerSite: Record<string, number>;
  waitedSPerSite: Record<string, number>;
  siteTimeS: Record<string, number>;
  /** Process start to the first API request, plus the last test's end to the process's exit (reports written). */
  fixedOverheadS?: number;
  runDir: string;
}

const RUN_ARGS = ["--suites", "procedure", "--tier", "disruptive"];

async function verifyRun(
  edges: number,
  extra: string[] = [],
  reports = mkdtempSync(join(tmpdir(), "dcnv-bench-reports-")),
): Promise<RunFigures> {
  log(`dcn-verify run ${[...RUN_ARGS, ...extra].join(" ")} on ${edges} edge site(s)`);
  const spawnedAt = Date.now();
  const t = await timed(process.execPath, [BIN, "run", ...RUN_ARGS, ...extra, "--reports", reports]);
  const exitedAt = spawnedAt + t.wallS * 1000;
  const runDir = realpathSync(join(reports, "latest"));
  const summary = JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8")) as RunSummary;
  const lastResult = Math.max(...summary.sites.map((x) => Date.parse(x.finishedAt ?? summary.finishedAt)));
  const fixedOverheadS = summary.firstRequestAt
    ? +((Date.parse(summary.firstRequestAt) - spawnedAt + (exitedAt - lastResult)) / 1000).toFixed(2)
    : undefined;
  const checksPerSite: Record<string, number> = {};
  const waitedSPerSite: Record<string, number> = {};
  const siteTimeS: Record<string, number> = {};
  for (const s of summary.sites) {
    const ev = evidence(runDir, s.site);
    checksPerSite[s.site] = ev.checks;
    waitedSPerSite[s.site] = ev.waitedS;
    siteTimeS[s.site] = +(s.tests.reduce((a, x) => a + x.durationMs, 0) / 1000).toFixed(1);
  }
  return {
    ...t,
    stdout: "",
    stderr: "",
    edges,
    args: extra,
    passed: t.exitCode === 0,
    checksPerSite,
    waitedSPerSite,
    siteTimeS,
    ...(fixedOverheadS !== undefined ? { fixedOverheadS } : {}),
    runDir,
  };
}

/** What a merge must keep of a run: each site's tests with their verdicts, in order. */
function verdicts(runDir: string): unknown {
  const r = JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8")) as RunSummary;
  return r.sites.map((x) => ({
    site: x.site,
    status: x.status,
    tests: x.tests.map((t) => [t.id, t.status, t.failureKind ?? null, t.notVerified ?? [], t.warnings ?? []]),
  }));
}

/** The 2-edge run again as two shards, one after the other, merged: its wall time and whether the verdicts agree. */
async function shardedRun(whole: RunFigures): Promise<{ wallS: number; cpuS: number; maxRssMB: number; sameVerdicts: boolean }> {
  const reports = mkdtempSync(join(tmpdir(), "dcnv-bench-shards-"));
  const group = `bench-${Date.now()}`;
  const shards = [await verifyRun(2, ["--shard", "1/2", "--group", group], reports)];
  shards.push(await verifyRun(2, ["--shard", "2/2", "--group", group], reports));
  const merge = await timed(process.execPath, [BIN, "merge", ...shards.map((x) => x.runDir), "--reports", reports]);
  if (merge.exitCode !== 0) throw new Error(`dcn-verify merge failed: ${merge.stderr}`);
  const merged = realpathSync(join(reports, "latest"));
  return {
    wallS: r2(shards.reduce((a, x) => a + x.wallS, merge.wallS)),
    cpuS: r2(shards.reduce((a, x) => a + x.cpuS, merge.cpuS)),
    maxRssMB: Math.max(merge.maxRssMB, ...shards.map((x) => x.maxRssMB)),
    sameVerdicts: JSON.stringify(verdicts(merged)) === JSON.stringify(verdicts(whole.runDir)),
  };
}

async function baseline(edge: string): Promise<Timed & { checks: number; failed: number }> {
  const raw = join(mkdtempSync(join(tmpdir(), "dcnv-bench-raw-")), "cirros.raw");
  await generateRawImage(raw, 64, "bench-manual");
  log(`manual baseline (stock CLIs, 2 s polling) on ${edge}`);
  const t = await timed("bash", [join(REPO_ROOT, "bench", "manual-baseline.sh"), edge, raw], { ...process.env, ...labEnv() } as Record<
    string,
    string
  >);
  const m = /CHECKS (\d+) FAILED (\d+)/.exec(t.stdout);
  return {
    ...t,
    stdout: t.stdout
      .split("\n")
      .filter((l) => l.startsWith("CHECK"))
      .join("\n"),
    stderr: "",
    checks: Number(m?.[1] ?? 0),
    failed: Number(m?.[2] ?? 0),
  };
}

async function cliSeconds(): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await execa("openstack", ["image", "list", "--limit", "1", "-f", "value"], { env: labEnv(), reject: false });
    xs.push((performance.now() - t0) / 1000);
  }
  return +(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2);
}

async function imageMemory(sizeMiB: number, format: string): Promise<Timed & Record<string, unknown>> {
  log(`image upload of ${sizeMiB} MiB (${format})`);
  const t = await timed(process.execPath, [
    "--import",
    "tsx",
    join(REPO_ROOT, "bench", "image-memory.ts"),
    String(sizeMiB),
    format,
    paths().config,
  ]);
  if (t.exitCode !== 0) throw new Error(`image-memory ${sizeMiB} ${format} failed: ${t.stderr}`);
  return { ...t, ...(JSON.parse(t.stdout.trim().split("\n").at(-1)!) as Record<string, unknown>), stdout: "", stderr: "" };
}

const r2 = (x: number) => +x.toFixed(2);

interface BenchResults {
  baseline: Awaited<ReturnType<typeof baseline>>;
  twoEdges: RunFigures;
  sharded: Awaited<ReturnType<typeof shardedRun>>;
  scaling: RunFigures[];
  maxParallel2?: RunFigures;
  polling: PollingFigures;
  image?: Record<string, { maxRssMB: number; readRatio: number; hashMatches: boolean }>;
  projection?: unknown;
}

/** The printed table, from the raw numbers alone (npm run bench -- --table prints it again from latest.json). */
function tableOf(results: BenchResults): string {
  const { baseline: manual, twoEdges: two, sharded, scaling, maxParallel2: bounded, polling } = results;
  const sizes = scaling.map((s) => s.edges);
  const edgeChecks = two.checksPerSite.dcn0 ?? 0;
  const allChecks = Object.values(two.checksPerSite).reduce((a, b) => a + b, 0);
  const rows: [string, string, string, string][] = [["figure", "measured", "target", "met"]];
  const row = (f: string, v: number, target: string, met: boolean) => rows.push([f, String(v), target, met ? "yes" : "NO"]);
  row("dcn-verify wall (2 edges) / manual wall (1 edge)", r2(two.wallS / manual.wallS), "<= 1.0", two.wallS / manual.wallS <= 1);
  row(
    "checks: dcn-verify (2 edges, all sites) / manual (1 edge)",
    r2(allChecks / Math.max(1, manual.checks)),
    ">= 3",
    allChecks / Math.max(1, manual.checks) >= 3,
  );
  row(
    "checks: dcn-verify per edge site (+ central) / manual",
    r2((edgeChecks + (two.checksPerSite.central ?? 0)) / Math.max(1, manual.checks)),
    "info",
    true,
  );
  const one = scaling.find((s) => s.edges === 1);
  const eight = scaling.find((s) => s.edges === Math.max(...sizes));
  if (one && eight) row(`wall at ${eight.edges} edges / wall at 1`, r2(eight.wallS / one.wallS), "<= 2.0", eight.wallS / one.wallS <= 2);
  for (const s of scaling) row(`harness CPU s / peak RSS MB at ${s.edges} edge(s)`, s.cpuS, `RSS ${s.maxRssMB} MB`, true);
  if (eight) row(`harness peak RSS at ${eight.edges} edges (MB)`, eight.maxRssMB, "< 300", eight.maxRssMB < 300);
  // NOTE: a run has at most DEFAULT_MAX_PARALLEL sites in flight, all in one worker thread: what a site adds is measured
  // per site in flight, between 1 edge and the first lab that reaches the bound; beyond it no more are in flight.
  const inFlight = (edges: number) => Math.min(edges + 1, DEFAULT_MAX_PARALLEL);
  const full = scaling.find((s) => inFlight(s.edges) === DEFAULT_MAX_PARALLEL);
  const projection: Record<string, unknown> = {};
  if (one && full && inFlight(full.edges) > inFlight(one.edges)) {
    const rss = r2((full.maxRssMB - one.maxRssMB) / (inFlight(full.edges) - inFlight(one.edges)));
    row(`harness peak RSS per site in flight (MB, ${one.edges} to ${full.edges} edges)`, rss, "< 10", rss < 10);
    projection.rssMBPerSiteInFlight = rss;
  }
  if (one && eight && eight.edges > 1) {
    const cpu = r2((eight.cpuS - one.cpuS) / (eight.edges - one.edges));
    // The issue's baseline: 13 CPU seconds per extra site.
    row(`harness CPU s per extra edge site (${one.edges} to ${eight.edges} edges)`, cpu, "<= 6.5", cpu <= 6.5);
    // With --max-parallel N the memory stays at the bounded run's, and the sites go N at a time as at 8 edges.
    for (const n of [50, 200])
      projection[n] = {
        cpuS: Math.round(one.cpuS + cpu * (n - 1)),
        [`default${DEFAULT_MAX_PARALLEL}RssMB`]: eight.maxRssMB,
        [`default${DEFAULT_MAX_PARALLEL}WallS`]: Math.round((eight.wallS / eight.edges) * n),
        ...(bounded ? { maxParallel2RssMB: bounded.maxRssMB, maxParallel2WallS: Math.round((bounded.wallS / eight.edges) * n) } : {}),
      };
  }
  results.projection = projection;
  if (two.fixedOverheadS !== undefined)
    row("fixed overhead at 2 edges (s): start to first request + last result to exit", two.fixedOverheadS, "< 5", two.fixedOverheadS < 5);
  for (const [site, waited] of Object.entries(two.waitedSPerSite)) {
    const total = two.siteTimeS[site] ?? 0;
    row(`${site}: harness time outside cloud waits (s of ${total} s)`, r2(total - waited), "info", true);
  }
  if (eight && bounded) {
    row(
      `wall at ${eight.edges} edges: --max-parallel 2 / the default ${DEFAULT_MAX_PARALLEL}`,
      r2(bounded.wallS / eight.wallS),
      "info",
      true,
    );
    row(
      `peak RSS at ${eight.edges} edges: --max-parallel 2 / the default ${DEFAULT_MAX_PARALLEL}`,
      r2(bounded.maxRssMB / eight.maxRssMB),
      "< 1",
      bounded.maxRssMB < eight.maxRssMB,
    );
  }
  row("wall, 2 shards one after the other + merge / unsharded (2 edges)", r2(sharded.wallS / two.wallS), "info", true);
  row("merged shards' tests and verdicts = the unsharded run's (1 = yes)", sharded.sameVerdicts ? 1 : 0, "1", sharded.sameVerdicts);
  const img = results.image;
  if (img) {
    row(
      "peak RSS, 4 GiB raw upload / 64 MiB",
      r2(img.raw4096!.maxRssMB / img.raw64!.maxRssMB),
      "<= 1.2",
      img.raw4096!.maxRssMB / img.raw64!.maxRssMB <= 1.2,
    );
    row(
      "peak RSS, 4 GiB via qcow2 / 64 MiB via qcow2",
      r2(img.qcow2_4096!.maxRssMB / img.qcow2_64!.maxRssMB),
      "<= 1.2",
      img.qcow2_4096!.maxRssMB / img.qcow2_64!.maxRssMB <= 1.2,
    );
    row(
      "bytes read from the file / file size, 4 GiB (sha512 while streaming)",
      img.raw4096!.readRatio,
      "~1.0, hash ok",
      img.raw4096!.readRatio < 1.05 && img.raw4096!.hashMatches,
    );
  }
  row("noticing a change, median s: harness (waits) / watch -n 2", r2(polling.harness.medianS / polling.watch2s.medianS), "info", true);
  row("noticing a change, p95 s: harness (imports) / watch -n 2", r2(polling.harnessImport.p95S / polling.watch2s.p95S), "info", true);
  const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  const table = rows
    .map(
      (r, i) => `| ${r.map((c, j) => c.padEnd(w[j]!)).join(" | ")} |${i === 0 ? `\n|${w.map((n) => "-".repeat(n + 2)).join("|")}|` : ""}`,
    )
    .join("\n");
  return table;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: "string" },
      "skip-image": { type: "boolean" },
      "skip-scaling": { type: "boolean" },
      table: { type: "boolean" },
    },
  });
  const dir = join(REPO_ROOT, "bench", "results");
  if (values.table) {
    const saved = JSON.parse(readFileSync(join(dir, "latest.json"), "utf8")) as BenchResults & Record<string, unknown>;
    saved.table = tableOf(saved);
    writeFileSync(join(dir, "latest.json"), JSON.stringify(saved, null, 2));
    process.stdout.write(`${saved.table}\n\nfrom the numbers measured ${String(saved.when)}: bench/results/latest.json\n`);
    return;
  }
  const sizes = (values.sizes ?? "1,2,4,8").split(",").map(Number);
  const startEdges = readState()?.edges ?? 2;
  const results: Record<string, unknown> = {
    when: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
  };

  await labUp(2);
  const manual = await baseline("dcn0");
  const two = await verifyRun(2);
  results.baseline = manual;
  results.twoEdges = two;
  const sharded = await shardedRun(two);
  results.sharded = sharded;

  const scaling: RunFigures[] = [];
  let bounded: RunFigures | undefined;
  if (!values["skip-scaling"]) {
    for (const n of sizes) {
      await labUp(n);
      scaling.push(n === 2 ? two : await verifyRun(n));
    }
    bounded = await verifyRun(Math.max(...sizes), ["--max-parallel", "2"]);
    await labUp(startEdges);
  }
  results.scaling = scaling;
  results.maxParallel2 = bounded;

  const cli = await cliSeconds();
  const polling: PollingFigures = await measurePolling(40, cli);
  results.polling = { ...polling, cliStartupS: cli };

  if (!values["skip-image"]) {
    results.image = {
      raw64: await imageMemory(64, "raw"),
      raw4096: await imageMemory(4096, "raw"),
      qcow2_64: await imageMemory(64, "qcow2"),
      qcow2_4096: await imageMemory(4096, "qcow2"),
    };
  }

  const table = tableOf(results as unknown as BenchResults);
  results.table = table;
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "latest.json"), JSON.stringify(results, null, 2));
  process.stdout.write(`${table}\n\nraw numbers: bench/results/latest.json\n`);
}

await main();
