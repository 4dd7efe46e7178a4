import { copyFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { expect } from "vitest";
import type { RunSummary } from "../../helpers/harness/model.ts";
import { labSites, profileDef } from "../../lab/profiles/index.ts";
import { paths, REPO_ROOT, readState } from "../../lab/state.ts";
import type { LabProfile } from "../../lab/state.ts";
import { BIN } from "../e2e/clients.ts";
import { type HarnessRun, runHarness } from "../e2e/testing.ts";

/** The lab's state, failing unless it is up with the profile a file tests ('lab up --profile <p>' first). */
export function requireProfile(profile: LabProfile) {
  const state = readState();
  expect(state?.profile, `the lab is up with profile ${profile} ('dcn-verify lab up --profile ${profile} --edges 1')`).toBe(profile);
  return { state: state!, sites: labSites(state!), def: profileDef(profile) };
}

/** `dcn-verify run` of the profile's example, as shipped, with the lab's overlay: the example's own file, unedited. */
export function runExample(profile: LabProfile, args: string[], o: Parameters<typeof runHarness>[1] = {}): Promise<HarnessRun> {
  const example = join(REPO_ROOT, "examples", profileDef(profile).example!);
  return runHarness(["--config", example, "--overlay", paths().overlay, ...args], o);
}

/** Every test of the run, but those above its tier, that is not a plain pass, as "<site> <id>: <status> <not verified reasons>". */
export function notPlainPasses(run: Pick<HarnessRun, "summary">): string[] {
  return run.summary.sites.flatMap((s) =>
    s.tests
      .filter((t) => !t.aboveTier && (t.status !== "passed" || t.notVerified?.length))
      .map((t) => `${s.site} ${t.id}: ${t.status}${t.notVerified?.length ? ` (${t.notVerified.join("; ")})` : ""}`),
  );
}

export interface GuideStep {
  /** The command as the guide writes it. */
  command: string;
  exitCode: number;
  output: string;
  /** For a run: its summary.json. */
  summary?: RunSummary;
  /** For discover: the file it wrote. */
  written?: string;
}

/** The `dcn-verify …` lines of the guide's sh blocks, in order. */
export function guideCommands(profile: LabProfile): string[] {
  const text = readFileSync(join(REPO_ROOT, "docs", "guides", `${profile}.md`), "utf8");
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) =>
    m[1]!
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.startsWith("dcn-verify ")),
  );
}

/**
 * Runs the guide's commands as written, in a fresh folder (where runs write reports/): `dcn-verify.yaml` is the
 * profile's example, the lab's overlay comes as DCN_VERIFY_OVERLAY and its clouds.yaml as OS_CLIENT_CONFIG_FILE.
 */
export async function runGuide(profile: LabProfile): Promise<GuideStep[]> {
  const cwd = mkdtempSync(join(tmpdir(), `dcnv-guide-${profile}-`));
  copyFileSync(join(REPO_ROOT, "examples", profileDef(profile).example!), join(cwd, "dcn-verify.yaml"));
  const env = { ...process.env, DCN_VERIFY_OVERLAY: paths().overlay, OS_CLIENT_CONFIG_FILE: paths().cloudsYaml };
  const steps: GuideStep[] = [];
  for (const command of guideCommands(profile)) {
    const argv = command.split(/\s+/).slice(1);
    const r = await execa(process.execPath, [BIN, ...argv], { cwd, env, reject: false, all: true, timeout: 1200000 });
    const step: GuideStep = { command, exitCode: r.exitCode ?? -1, output: r.all ?? "" };
    if (argv[0] === "run") step.summary = JSON.parse(readFileSync(join(cwd, "reports", "latest", "summary.json"), "utf8")) as RunSummary;
    const out = argv.indexOf("--out");
    if (out >= 0) step.written = readFileSync(join(cwd, argv[out + 1]!), "utf8");
    steps.push(step);
  }
  return steps;
}

/** The guide's step whose command starts so. */
export function stepOf(steps: GuideStep[], prefix: string): GuideStep {
  const s = steps.find((x) => x.command.startsWith(prefix));
  if (!s) throw new Error(`no guide step '${prefix}…' in ${steps.map((x) => x.command).join("; ")}`);
  return s;
}

/**
 * The commands of the cephadm stand-in's log that are not on this list of reads, written here apart from the probe's
 * own gate (helpers/ceph/readonly.ts): rbd's listings, info, du, diff and export to stdout; ceph's fsid, version, status, pool
 * listing and `auth get`.
 */
export function notReads(commands: string[]): string[] {
  const READS = [
    /^rbd -p \S+ ls( -l)?( --format json)?$/,
    /^rbd (snap ls|info|du|diff|children) \S+( --format json)?$/,
    /^rbd export --no-progress \S+ -$/,
    /^ceph (fsid|version|versions) --format json$/,
    /^ceph (-s|status|health)( --format json)?$/,
    /^ceph osd pool ls( detail)?( --format json)?$/,
    /^ceph auth get client\.\S+( --format json)?$/,
  ];
  return commands.filter((c) => !READS.some((r) => r.test(c)));
}

/**
 * The guide's commands, run as written, each exiting 0 (discover too: the profile's cloud has no inconsistency to
 * report), discover writing the distribution: the summaries of its runs, by the tier its command gives.
 */
export async function passingGuide(profile: LabProfile): Promise<{ readOnly: { summary: RunSummary }; standard: { summary: RunSummary } }> {
  const steps = await runGuide(profile);
  for (const step of steps) expect(step.exitCode, `${step.command}\n${step.output}`).toBe(0);
  expect(stepOf(steps, "dcn-verify discover").written).toMatch(new RegExp(`^distribution: ${profile}$`, "m"));
  const runs = steps.filter((s) => s.summary);
  const readOnly = runs.find((s) => s.command.includes("--tier read-only"));
  const standard = runs.find((s) => !s.command.includes("--tier"));
  if (!readOnly?.summary || !standard?.summary) throw new Error(`the guide of ${profile} has no read-only run and standard run`);
  return { readOnly: { summary: readOnly.summary }, standard: { summary: standard.summary } };
}
