import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { stringify } from "yaml";
import { testSite, validConfig } from "../helpers/config/testing.ts";
import type { RunSummary, SiteSummary, TestSummary } from "../helpers/harness/model.ts";
import { canaryCommand } from "./canary.ts";
import { metricsCommand } from "./metrics.ts";
import { RUN_OPTIONS, RUN_USAGE, runCommand } from "./run.ts";

// The metrics themselves are tested in helpers/ops/metrics.test.ts; here, the commands that take them.

const t = (id: string, over: Partial<TestSummary> = {}): TestSummary => ({
  id,
  title: `title of ${id}`,
  status: "passed",
  durationMs: 1500,
  tier: "standard",
  ...over,
});

const site = (name: string, tests: TestSummary[], over: Partial<SiteSummary> = {}): SiteSummary => ({
  site: name,
  status: "passed",
  tests,
  errors: [],
  cleanup: [],
  verdict: { ok: true, reasons: [] },
  ...over,
});

const summary = (over: Partial<RunSummary> = {}): RunSummary => ({
  runId: "20261201t100000-abcd",
  tier: "standard",
  suites: ["procedure"],
  startedAt: "2026-12-01T10:00:00.000Z",
  finishedAt: "2026-12-01T10:03:00.000Z",
  interrupted: false,
  sites: [
    site("central", [t("dcn-1-stores", { tier: "read-only" })]),
    site("dcn0", [t("dcn-3-copy-to-edge", { status: "failed" })], { status: "failed", verdict: { ok: false, reasons: ["failed"] } }),
  ],
  ...over,
});
const runSummary = () => summary();
const canarySummary = () =>
  summary({ runId: "20261202t100000-beef", suites: ["canary-verify"], sites: [site("dcn0", [t("canary-image", { tier: "read-only" })])] });

describe("dcn-verify metrics", () => {
  let dir = "";
  let out = "";
  let err = "";
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "dcnv-metrics-cli-"));
    out = "";
    err = "";
    vi.spyOn(process.stdout, "write").mockImplementation((s) => ((out += String(s)), true));
    vi.spyOn(process.stderr, "write").mockImplementation((s) => ((err += String(s)), true));
  });
  afterEach(() => {
    vi.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A run directory with its summary.json and the run.json that names its config. */
  function runDir(summary: RunSummary, o: { config?: boolean } = {}): string {
    const cfg = validConfig();
    cfg.central = testSite("central", { az: "az-central" });
    const configPath = join(dir, "dcn-verify.yaml");
    writeFileSync(configPath, stringify(cfg));
    const d = join(dir, summary.runId);
    mkdirSync(d);
    writeFileSync(join(d, "summary.json"), JSON.stringify(summary));
    if (o.config !== false) writeFileSync(join(d, "run.json"), JSON.stringify({ runId: summary.runId, configPath }));
    return d;
  }

  test("prints a run's exposition, with the AZs and stores of the config its run.json names", async () => {
    expect(await metricsCommand([runDir(runSummary())])).toBe(0);
    expect(out).toContain(`dcn_verify_site_success{site="central",availability_zone="az-central"} 1`);
    expect(out).toContain(
      `dcn_verify_check_success{site="dcn0",check="dcn-3-copy-to-edge",tier="standard",availability_zone="dcn0",store="dcn0"} 0`,
    );
  });

  test("prints a canary verify's exposition", async () => {
    expect(await metricsCommand([runDir(canarySummary(), { config: false })])).toBe(0);
    expect(out).toContain(`dcn_verify_canary_intact{site="dcn0",canary="canary-image"} 1`);
  });

  test("writes the textfile instead of printing, when asked", async () => {
    const file = join(dir, "out.prom");
    expect(await metricsCommand([runDir(canarySummary()), "--metrics-textfile", file])).toBe(0);
    expect(out).toBe("");
    expect(readFileSync(file, "utf8")).toContain("dcn_verify_canary_intact");
  });

  test("--help prints the usage on stdout", async () => {
    expect(await metricsCommand(["--help"])).toBe(0);
    expect(out).toMatch(/^usage: dcn-verify metrics <run dir>/);
  });

  test("bad input exits 2 with a clear error: no directory, no summary.json, a config that is gone, a bad option", async () => {
    expect(await metricsCommand([join(dir, "nope")])).toBe(2);
    expect(err).toContain(`dcn-verify metrics: ${join(dir, "nope")} is not a directory`);
    expect(await metricsCommand([dir])).toBe(2);
    expect(err).toContain(`${dir} holds no summary.json`);
    const d = runDir(runSummary());
    rmSync(join(dir, "dcn-verify.yaml"));
    expect(await metricsCommand([d])).toBe(2);
    expect(err).toMatch(/dcn-verify\.yaml \(its run\.json\) does not exist here: give it with --config/);
    expect(await metricsCommand([d, "--metrics-textfile", join(dir, "x.txt")])).toBe(2);
    expect(err).toContain("--metrics-textfile:");
    expect(await metricsCommand([])).toBe(2);
    expect(err).toContain("give a run's directory");
    expect(out).toBe("");
  });

  test("a summary.json that is not a run's names the file and the fields", async () => {
    writeFileSync(join(dir, "summary.json"), JSON.stringify({ runId: "x", sites: [{ site: "dcn0" }] }));
    expect(await metricsCommand([dir])).toBe(2);
    expect(err).toContain(`${join(dir, "summary.json")} is not a dcn-verify run summary`);
    expect(err).toContain("sites[0].status");
  });
});

describe("run's and canary's metrics options", () => {
  let dir = "";
  let err = "";
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "dcnv-metrics-opts-"));
    err = "";
    vi.spyOn(process.stderr, "write").mockImplementation((s) => ((err += String(s)), true));
  });
  afterEach(() => {
    vi.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  test("run's usage names every option run takes", () => {
    const line = RUN_USAGE.split("\n")[0]!;
    for (const name of Object.keys(RUN_OPTIONS)) expect(line, name).toContain(`[--${name}`);
  });

  test("a bad --pushgateway or --metrics-textfile stops run before anything, naming the option", async () => {
    expect(await runCommand(["--pushgateway", "gw:9091", "--config", join(dir, "none.yaml")])).toBe(2);
    expect(err).toContain("dcn-verify run: --pushgateway: 'gw:9091' is not an http(s) URL");
    expect(await runCommand(["--metrics-textfile", join(dir, "m.txt"), "--config", join(dir, "none.yaml")])).toBe(2);
    expect(err).toMatch(/dcn-verify run: --metrics-textfile: .*m\.txt must end with \.prom/);
  });

  test("canary verify takes them, checked before any cloud call; plant and remove refuse them", async () => {
    const config = join(dir, "dcn-verify.yaml");
    writeFileSync(config, stringify(validConfig()));
    const manifest = join(dir, "canaries.json");
    writeFileSync(manifest, "{}");
    const verify = ["verify", "--config", config, "--manifest", manifest];
    expect(await canaryCommand([...verify, "--pushgateway", "ftp://gw"])).toBe(2);
    expect(err).toContain("dcn-verify canary verify: --pushgateway: 'ftp://gw' is not an http(s) URL");
    expect(await canaryCommand([...verify, "--metrics-textfile", join(dir, "nope", "c.prom")])).toBe(2);
    expect(err).toMatch(/--metrics-textfile: the directory .*nope does not exist/);
    expect(await canaryCommand(["remove", "--config", config, "--manifest", manifest, "--pushgateway", "http://gw:9091"])).toBe(2);
    expect(err).toContain("--pushgateway: only verify exports metrics");
  });
});
