import { describe, expect, test } from "vitest";
import { CephCommandError, CephTimeoutError } from "../ceph/probe.ts";
import { configSchema } from "../config/schema.ts";
import { ApiError, ResponseValidationError } from "../core/http.ts";
import { WaitError } from "../core/wait.ts";
import { DiffError, diffRuns } from "./diff.ts";
import { classifyFailure, ProductDefect } from "../harness/failure-kind.ts";
import { countResults } from "../harness/gates.ts";
import { summaryTable } from "./pipeline/publish.ts";
import type { RunSummary } from "../harness/model.ts";
import { runIdOf } from "../harness/naming.ts";
import { SiteUnreachableError } from "../harness/reach.ts";
import { buildPlan } from "./plan.ts";
import { select, selectTier } from "./selection.ts";
import { activeKnownIssue } from "../harness/suite.ts";
import { evaluateGates, gateFor, judgeRun, judgeSite } from "./pipeline/judge.ts";

const site = (name: string) => ({ name, az: name, store: name, ceph: { cluster: name, transport: { kind: "local" } } });
const cfg = configSchema.parse({ cloud: { cloud: "x" }, flavor: "f", central: site("central"), edges: [site("dcn0"), site("dcn1")] });

describe("tiers and plan", () => {
  test("the default tier is standard; production caps at read-only unless writes are allowed", () => {
    expect(selectTier(undefined, false, false)).toEqual({ tier: "standard" });
    expect(selectTier("disruptive", true, true)).toEqual({ tier: "disruptive" });
    expect(selectTier("standard", true, false).tier).toBe("read-only");
    expect(selectTier("read-only", true, false)).toEqual({ tier: "read-only" });
    expect(() => selectTier("all", false, false)).toThrow("--tier: unknown tier 'all'");
  });

  test("a read-only plan creates nothing anywhere, and skips what builds on a skipped test", () => {
    const plan = buildPlan(cfg, { tier: "read-only" });
    expect(plan.sites.map((s) => s.site)).toEqual(["central", "dcn0", "dcn1"]);
    const running = plan.sites.flatMap((s) => s.tests.filter((t) => t.runs));
    expect(running.every((t) => t.tier === "read-only" && t.creates.length === 0)).toBe(true);
    const dcn0 = plan.sites[1]!.tests;
    expect(dcn0.find((t) => t.id === "dcn-5-rbd-parent")).toMatchObject({
      runs: false,
      skip: "needs dcn-4-boot-from-volume, which does not run",
    });
    expect(dcn0.find((t) => t.id === "rule-1-same-names")?.runs).toBe(true);
  });

  test("--suites and --sites narrow the plan", () => {
    const plan = buildPlan(cfg, { suites: "rules", sites: "dcn1", tier: "disruptive" });
    expect(plan.sites.map((s) => [s.site, s.tests.length])).toEqual([["dcn1", 5]]);
  });
});

describe("gates and known issues", () => {
  const tests = [
    { id: "a", status: "passed" as const, durationMs: 1000 },
    { id: "b", status: "failed" as const, durationMs: 2000, failure: "[dcn0] the volume is a full copy", failureKind: "product" },
    { id: "c", status: "skipped" as const, durationMs: 0 },
  ];
  const issue = { test: "b", match: "full copy", reason: "r", link: "https://bugs.example/1", expires: "2026-12-31" };
  const day = new Date("2026-11-23T12:00:00Z");

  test("a failure fails maxFailures 0; a known issue covers it until its day has passed", () => {
    expect(evaluateGates("dcn0", tests, { maxFailures: 0 }, [], day).ok).toBe(false);
    const covered = evaluateGates("dcn0", tests, { maxFailures: 0 }, [issue], day);
    expect(covered).toMatchObject({
      ok: true,
      known: [{ test: "b", message: "[dcn0] the volume is a full copy", category: "product" }],
      expired: [],
    });
    expect(evaluateGates("dcn0", tests, { maxFailures: 0 }, [issue], new Date("2026-12-31T23:00:00Z")).ok).toBe(true);
    const expired = evaluateGates("dcn0", tests, { maxFailures: 0 }, [issue], new Date("2027-01-01T00:00:00Z"));
    expect(expired).toMatchObject({ ok: false, expired: [{ test: "b", expires: "2026-12-31" }] });
    expect(evaluateGates("dcn0", tests, { maxFailures: 0 }, [{ ...issue, site: "dcn1" }], day).ok).toBe(false);
    const failure = { id: "b", failure: "[dcn0] the volume is a full copy", failureKind: "product" };
    expect(activeKnownIssue([issue], "dcn0", failure, day)).toBe(issue);
    expect(activeKnownIssue([{ ...issue, site: "dcn1" }], "dcn0", failure, day)).toBeUndefined();
  });

  test("a known issue covers only the failures its pattern (and category) matches; another failure of the same test counts", () => {
    const other = [{ ...tests[1]!, failure: "[dcn0] the volume lives in the Ceph cluster of central" }];
    const r = evaluateGates("dcn0", other, {}, [issue], day);
    expect(r.known).toEqual([]);
    const site = { site: "dcn0", status: "failed" as const, tests: other.map((t) => ({ ...t, title: "b" })), errors: [], gates: r };
    expect(judgeSite(site)).toEqual({ ok: false, reasons: ["1 failed test(s) no known issue covers: b"] });
    expect(evaluateGates("dcn0", tests, {}, [{ ...issue, category: "infrastructure" }], day).known).toEqual([]);
    expect(evaluateGates("dcn0", tests, {}, [{ ...issue, match: "FULL COPY", category: "product" }], day).known).toHaveLength(1);
    expect(configSchema.safeParse({ ...cfg, knownIssues: [{ ...issue, match: "(" }] }).error?.issues[0]).toMatchObject({
      path: ["knownIssues", 0, "match"],
      message: "not a valid regular expression",
    });
    const { match: _m, ...noMatch } = issue;
    expect(configSchema.safeParse({ ...cfg, knownIssues: [noMatch] }).error?.issues[0]?.path).toEqual(["knownIssues", 0, "match"]);
  });

  test("pools the rbd leftover scan could not list count as not verified at their site: in the counts and both gates", () => {
    const passed = [{ id: "a", status: "passed" as const, durationMs: 1 }];
    expect(countResults(passed, 2).notVerified).toBe(2);
    const r = evaluateGates("dcn0", passed, { maxNotVerified: 0, maxNotVerifiedInTier: 0 }, [], day, "standard", 1);
    expect(r.results.map((x) => [x.name, x.ok])).toEqual([
      ["maxNotVerified", false],
      ["maxNotVerifiedInTier", false],
    ]);
  });

  test("a failed test fails its site whatever the gates say; gates only add reasons", () => {
    const failed = { site: "dcn0", status: "failed" as const, tests: tests.map((t) => ({ ...t, title: t.id })), errors: [] };
    const noMaxFailures = evaluateGates("dcn0", tests, { maxDurationS: 1800 }, [], day);
    expect(noMaxFailures.ok).toBe(true);
    expect(judgeSite({ ...failed, gates: noMaxFailures })).toEqual({
      ok: false,
      reasons: ["1 failed test(s) no known issue covers: b"],
    });
    const covered = evaluateGates("dcn0", tests, { maxDurationS: 1800 }, [issue], day);
    expect(judgeSite({ ...failed, gates: covered })).toEqual({ ok: true, reasons: [] });
    expect(judgeSite({ ...failed, gates: covered, cleanup: ["volume v (1) at dcn0: HTTP 500"] }).reasons).toEqual([
      "left behind: volume v (1) at dcn0: HTTP 500",
    ]);
    expect(judgeSite({ ...failed, tests: [], gates: covered }).reasons).toEqual(["no test ran"]);
    expect(configSchema.safeParse({ ...cfg, gates: { default: { maxFailures: 2 } } }).error?.issues[0]?.path).toEqual([
      "gates",
      "default",
      "maxFailures",
    ]);
    const summary = { runId: "r", startedAt: "", finishedAt: "", interrupted: false, sites: [{ ...failed, gates: covered }] };
    expect(judgeRun(summary)).toEqual({ ok: true, reasons: [] });
    expect(judgeRun({ ...summary, interrupted: true }).reasons).toEqual(["the run was interrupted"]);
    expect(judgeRun({ ...summary, sites: [] }).reasons).toEqual(["no site ran"]);
    expect(judgeRun({ ...summary, leftBehind: ["volume v (1) at dcn9: HTTP 500"] }).reasons).toEqual([
      "left behind: volume v (1) at dcn9: HTTP 500",
    ]);
  });

  test("minTests counts executed tests; maxDurationS the site's test time; a site's gate overrides the default", () => {
    const r = evaluateGates("dcn0", tests, { minTests: 3, maxDurationS: 2 }, [], day);
    expect(r.results).toEqual([
      { name: "minTests", ok: false, detail: "2 executed (at least 3)" },
      { name: "maxDurationS", ok: false, detail: "3.0 s (at most 2 s)" },
    ]);
    expect(gateFor({ default: { maxFailures: 0, minTests: 1 }, sites: { dcn0: { minTests: 5 } } }, "dcn0")).toEqual({
      maxFailures: 0,
      minTests: 5,
    });
  });

  test("warnings and what was not verified are counted, shown in the table, and gated (--strict sets both to 0)", () => {
    const seen = [
      { id: "a", title: "a", status: "passed" as const, durationMs: 1000, warnings: ["HEALTH_WARN"] },
      { id: "b", title: "b", status: "passed" as const, durationMs: 1000, notVerified: ["copy order of 1 image: same second"] },
      {
        id: "c",
        title: "c",
        status: "skipped" as const,
        durationMs: 0,
        notVerified: ["tier disruptive is above this run's --tier standard"],
      },
      { id: "d", title: "d", status: "failed" as const, durationMs: 1000 },
    ];
    expect(countResults(seen)).toEqual({ passed: 2, failed: 1, warnings: 1, notVerified: 2 });
    const r = evaluateGates("dcn0", seen, { maxWarnings: 0, maxNotVerified: 2 }, [], day);
    expect(r.results).toEqual([
      { name: "maxWarnings", ok: false, detail: "1 warning(s) (at most 0)" },
      { name: "maxNotVerified", ok: true, detail: "2 not verified (at most 2)" },
    ]);
    const table = summaryTable([{ site: "dcn0", status: "failed", tests: seen, errors: [], gates: r }]);
    expect(table.split("\n")[0]).toMatch(/^site +result +passed +failed +known +warnings +not verified +time +gates$/);
    expect(table.split("\n")[1]).toMatch(/^dcn0 +FAILED +2 +1 +0 +1 +2 +3\.0 s +NOT MET \(maxWarnings\)$/);
    expect(configSchema.safeParse({ ...cfg, gates: { default: { maxWarnings: 0, maxNotVerified: 0 } } }).success).toBe(true);
  });

  test("a run given --tier fails on what stays not verified within its tier, not on tests above it", () => {
    const seen = [
      { id: "a", title: "a", status: "passed" as const, durationMs: 1000, tier: "read-only" },
      {
        id: "b",
        title: "b",
        status: "skipped" as const,
        durationMs: 0,
        tier: "standard",
        aboveTier: true,
        notVerified: ["tier standard is above this run's --tier read-only"],
      },
      {
        id: "c",
        title: "c",
        status: "skipped" as const,
        durationMs: 0,
        tier: "read-only",
        notVerified: ["no nonAdminCloud in the config"],
      },
    ];
    expect(select(cfg, { tier: "read-only" }).tierGiven).toBe(true);
    expect(select(cfg, {}).tierGiven).toBeUndefined();
    expect(select(cfg, { tier: "read-only", allowNotVerified: true }).tierGiven).toBeUndefined();
    const r = evaluateGates("dcn0", seen, { maxNotVerifiedInTier: 0 }, [], day, "read-only");
    expect(r.results).toEqual([
      {
        name: "maxNotVerifiedInTier",
        ok: false,
        detail: "1 not verified within tier read-only (at most 0; tests above the tier not counted)",
      },
    ]);
    expect(evaluateGates("dcn0", seen.slice(0, 2), { maxNotVerifiedInTier: 0 }, [], day, "read-only").ok).toBe(true);
  });

  test("gates and known issues naming sites that do not exist are config errors", () => {
    const bad = configSchema.safeParse({
      ...cfg,
      gates: { sites: { dcn7: { minTests: 1 } } },
      knownIssues: [{ ...issue, site: "dcn9", expires: "2026-02-30x" }],
    });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join("."));
    expect(paths).toEqual(expect.arrayContaining(["gates.sites.dcn7", "knownIssues.0.expires"]));
  });
});

describe("diff", () => {
  const run = (runId: string, statuses: Record<string, "passed" | "failed" | "skipped">, authUrl = "http://k/v3"): RunSummary => ({
    runId,
    cloud: { authUrl, region: "r", project: "p" },
    startedAt: "",
    finishedAt: "",
    interrupted: false,
    sites: [
      {
        site: "dcn0",
        status: "passed",
        errors: [],
        tests: Object.entries(statuses).map(([id, status]) => ({ id, title: id, status, durationMs: 1500 })),
      },
    ],
  });

  test("new, removed, fixed, regressed, still failing and still passing, with duration deltas", () => {
    const d = diffRuns(
      run("A", { keep: "passed", fix: "failed", broke: "passed", bad: "failed", gone: "passed", skip: "skipped" }),
      run("B", { keep: "passed", fix: "passed", broke: "failed", bad: "failed", fresh: "passed", skip: "passed" }),
    );
    expect(Object.fromEntries(d.tests.map((t) => [t.id, t.change]))).toEqual({
      keep: "still passing",
      fix: "fixed",
      broke: "regressed",
      bad: "still failing",
      gone: "removed",
      skip: "skipped",
      fresh: "new",
    });
    expect(d.regressions).toBe(1);
    expect(d.tests.find((t) => t.id === "keep")?.durationMsDelta).toBe(0);
  });

  test("runs of different clouds are refused", () => {
    expect(() => diffRuns(run("A", {}), run("B", {}, "http://other/v3"))).toThrow(DiffError);
  });
});

describe("failure kinds and leftovers", () => {
  test("defects, refusals, stuck operations and missing rbd images are the product's; 5xx, network and Ceph not answering are infrastructure; the rest is the harness's", () => {
    const api = (status: number | undefined, code?: string) =>
      new ApiError({ service: "glance", method: "GET", url: "http://g/v2/images", status, code });
    expect(classifyFailure(new ProductDefect("dcn0", "x"))).toBe("product");
    expect(classifyFailure(api(409))).toBe("product");
    expect(classifyFailure(api(503))).toBe("infrastructure");
    expect(classifyFailure(api(413))).toBe("infrastructure");
    expect(classifyFailure(api(404))).toBe("product");
    expect(classifyFailure(api(undefined, "ECONNREFUSED"))).toBe("infrastructure");
    expect(classifyFailure(api(401))).toBe("infrastructure");
    expect(
      classifyFailure(new ResponseValidationError({ service: "glance", method: "GET", url: "http://g/x", status: 200 }, ["id: Required"])),
    ).toBe("harness");
    const wait = (kind: "timeout" | "terminal" | "poll", cause?: unknown) =>
      new WaitError(kind, "image x", "active", 1, 1, undefined, undefined, [], "m", cause === undefined ? undefined : { cause });
    expect(classifyFailure(wait("timeout"))).toBe("product");
    expect(classifyFailure(wait("terminal"))).toBe("product");
    expect(classifyFailure(wait("poll", api(502)))).toBe("infrastructure");
    expect(classifyFailure(new CephTimeoutError("dcn0", "docker", "rbd ls", 1000))).toBe("infrastructure");
    const rbd = (stderr: string) => new CephCommandError("dcn0", "docker", "rbd info images/x", 2, stderr);
    expect(classifyFailure(rbd("rbd: error opening image x: (2) No such file or directory"))).toBe("product");
    expect(classifyFailure(rbd("monclient(hunting): authenticate timed out after 20"))).toBe("infrastructure");
    const down = { site: "dcn0", state: "unreachable" as const, reason: "no answer", ms: 30000 };
    expect(classifyFailure(new SiteUnreachableError(down))).toBe("infrastructure");
    expect(classifyFailure(new TypeError("x is undefined"))).toBe("harness");
  });

  test("only names the harness gives carry a run id", () => {
    expect(runIdOf("dcnv-20261123t144905-116f-dcn0-volume", "dcnv")).toBe("20261123t144905-116f");
    expect(runIdOf("snapshot for dcnv-20261123t144905-116f-dcn0-server-snapshot", "dcnv")).toBe("20261123t144905-116f");
    for (const n of [
      "dcnv-manual-keep",
      "x-dcnv-20261123t144905-116f-dcn0-volume",
      "dcnv-20261123t144905-116f",
      "dcnvx-20261123t144905-116f-dcn0-v",
      null,
    ]) {
      expect(runIdOf(n, "dcnv"), String(n)).toBeUndefined();
    }
  });
});
