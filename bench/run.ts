// npm run bench [-- --sizes 1,2,4,8] [--skip-image] [--skip-scaling]
// Measures, on the embedded lab, dcn-verify against the manual way and against itself as the lab grows.
// Prints a table of ratios and writes the raw numbers to bench/results/latest.json.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { execa } from "execa";
import { parse } from "yaml";
import type { RunSummary } from "../helpers/harness/model.ts";
import { generateRawImage } from "../helpers/images/source.ts";
import { paths, REPO_ROOT, readState } from "../lab/state.ts";
import { labEnv } from "../tests/e2e/testing.ts";
import { measurePolling, type PollingFigures } from "./polling.ts";
import { type BenchResults, type ManualFigures, parseManual, type RunFigures, rowsOf, siteFigures, tableOf, type Timed } from "./table.ts";

const BIN = join(REPO_ROOT, "bin", "dcn-verify.mjs");

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

/** The lab in the guide's shape (profile standard, which the earlier benches measured), with this many edges. */
async function labUp(edges: number): Promise<void> {
  const args = ["lab", "up", "--profile", "standard", "--edges", String(edges)];
  log(args.join(" "));
  const r = await execa(process.execPath, [BIN, ...args], { reject: false, all: true, timeout: 1800_000 });
  if (r.exitCode !== 0) throw new Error(`${args.join(" ")} failed:\n${r.all}`);
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
    ...siteFigures(summary),
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

/** The lab's config: its edges, in order, and the flavor the harness boots. */
function labConfig(): { edges: string[]; flavor?: string } {
  const cfg = parse(readFileSync(paths().config, "utf8")) as { edges?: { name: string }[]; flavor?: string };
  return { edges: (cfg.edges ?? []).map((e) => e.name), ...(cfg.flavor ? { flavor: cfg.flavor } : {}) };
}

/** The manual runbook over the edges one after the other, with the image the harness generates (64 MiB raw). */
async function baseline(edges: string[], flavor?: string): Promise<ManualFigures> {
  const raw = join(mkdtempSync(join(tmpdir(), "dcnv-bench-raw-")), "generated.raw");
  await generateRawImage(raw, 64, "bench-manual");
  log(`manual runbook (stock CLIs, 2 s polling) on ${edges.join(", ")}, one after the other`);
  const env = { ...process.env, ...labEnv(), ...(flavor ? { FLAVOR: flavor } : {}) } as Record<string, string>;
  const t = await timed("bash", [join(REPO_ROOT, "bench", "manual-baseline.sh"), edges.join(","), raw], env);
  const parsed = parseManual(t.stdout);
  // NOTE: an action or a wait that failed ends the runbook (FATAL): its time is not the work's, so the bench stops.
  if (!/^CHECKS \d+ FAILED \d+$/m.test(t.stdout))
    throw new Error(`the manual runbook stopped (exit ${t.exitCode}):\n${t.stderr.split("\n").slice(-20).join("\n")}\n${t.stdout}`);
  const part = (name: string) => parsed.partS?.[name] ?? 0;
  return {
    ...t,
    ...parsed,
    stdout: t.stdout
      .split("\n")
      .filter((l) => /^(CHECK|OUTCOME|TIME)/.test(l))
      .join("\n"),
    stderr: "",
    edges,
    oneEdgeS: part("central") + part(`edge ${edges[0]}`) + part("cleanup central"),
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
    const rows = rowsOf(saved);
    saved.rows = rows;
    saved.table = tableOf(rows);
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
  const lab = labConfig();
  const manual = await baseline(lab.edges, lab.flavor);
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

  const rows = rowsOf(results as unknown as BenchResults);
  const table = tableOf(rows);
  results.rows = rows;
  results.table = table;
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "latest.json"), JSON.stringify(results, null, 2));
  process.stdout.write(`${table}\n\nraw numbers: bench/results/latest.json\n`);
}

await main();
