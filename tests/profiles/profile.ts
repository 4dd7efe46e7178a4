import { join } from "node:path";
import { expect } from "vitest";
import { labSites, profileDef } from "../../lab/profiles/index.ts";
import { paths, REPO_ROOT, readState } from "../../lab/state.ts";
import type { LabProfile } from "../../lab/state.ts";
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

/** Every test of the run that is not a plain pass, as "<site> <id>: <status> <not verified reasons>". */
export function notPlainPasses(run: HarnessRun): string[] {
  return run.summary.sites.flatMap((s) =>
    s.tests
      .filter((t) => t.status !== "passed" || t.notVerified?.length)
      .map((t) => `${s.site} ${t.id}: ${t.status}${t.notVerified?.length ? ` (${t.notVerified.join("; ")})` : ""}`),
  );
}
