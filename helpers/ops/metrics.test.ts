import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { testSite } from "../config/testing.ts";
import { PACKAGE_ROOT } from "../core/package-root.ts";
import type { RunSummary, SiteSummary, TestSummary } from "../harness/model.ts";
import {
  assertNoUuid,
  buildMetrics,
  checkMetricsTargets,
  checkPushgatewayUrl,
  MetricsError,
  pushMetrics,
  redactUrl,
  type SiteLabels,
  writeMetricsTextfile,
} from "./metrics.ts";

const sites: SiteLabels = {
  central: testSite("central", { az: "az-central", store: "central" }) as unknown as SiteLabels["central"],
  edges: [
    testSite("dcn0", { az: "az-dcn0", store: "dcn0-rbd" }) as unknown as SiteLabels["central"],
    testSite("dcn1", { az: "az-dcn1", store: "dcn1-rbd" }) as unknown as SiteLabels["central"],
  ],
};

const t = (id: string, over: Partial<TestSummary> = {}): TestSummary => ({
  id,
  title: `title of ${id}`,
  status: "passed",
  durationMs: 1500,
  tier: "standard",
  ...over,
});

const ok = { ok: true, reasons: [] };
const site = (name: string, tests: TestSummary[], over: Partial<SiteSummary> = {}): SiteSummary => ({
  site: name,
  status: "passed",
  tests,
  errors: [],
  cleanup: [],
  verdict: ok,
  ...over,
});

const FINISHED = "2026-12-01T10:03:00.000Z";
const END = Date.parse(FINISHED) / 1000;

/** A run: central passes (one warning); dcn0 fails one check, leaves parts not verified, and one test above the tier. */
const runSummary = (over: Partial<RunSummary> = {}): RunSummary => ({
  runId: "20261201t100000-abcd",
  tier: "standard",
  suites: ["procedure", "rules"],
  startedAt: "2026-12-01T10:00:00.000Z",
  finishedAt: FINISHED,
  interrupted: false,
  sites: [
    site("central", [t("dcn-1-stores", { tier: "read-only", warnings: ["an extra store"] }), t("dcn-2-raw-import")]),
    site(
      "dcn0",
      [
        t("dcn-3-copy-to-edge", { status: "failed", failure: "copy failed", failureKind: "product" }),
        t("dcn-4-boot-from-volume", { notVerified: ["the API hides the server's host"] }),
        t("dcn-5-rbd-parent", { status: "skipped", tier: "read-only", notVerified: ["needs the root-volume"] }),
        t("dcn-6-cinder-snapshot", { status: "skipped", aboveTier: true, tier: "disruptive", notVerified: ["tier"] }),
        t("rule-1-az-store", { durationMs: 250 }),
      ],
      { status: "failed", verdict: { ok: false, reasons: ["1 failed test(s)"] } },
    ),
  ],
  ...over,
});

/** The samples of an exposition: `name{a="x",b="y"}` (labels as prom-client orders them) to value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

const key = (name: string, labels: Record<string, string>) =>
  `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(",")}}`;

/** The error a promise rejects with; it failing to reject fails the test. */
async function failure(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error("expected a rejection");
    },
    (e: unknown) => e as Error,
  );
}

/** promtool, from Debian's prometheus package: a missing one fails the test, never skips it. */
async function promtool(args: string[], input?: string) {
  const r = await execa("promtool", args, { reject: false, cwd: PACKAGE_ROOT, ...(input !== undefined ? { input } : {}) });
  if ((r as { code?: string }).code === "ENOENT")
    throw new Error("promtool is not installed: install Debian's prometheus package (apt-get install prometheus)");
  return r;
}

describe("the metrics of a run", () => {
  test("a check is 1 only when it passed (warnings included); failed and not verified are 0; above the tier is left out", async () => {
    const m = samples(await buildMetrics(runSummary(), sites));
    const check = (s: string, check: string, tier: string, az: string, store: string) =>
      m.get(key("dcn_verify_check_success", { site: s, check, tier, availability_zone: az, store }));
    expect(check("central", "dcn-1-stores", "read-only", "az-central", "central")).toBe(1);
    expect(check("central", "dcn-2-raw-import", "standard", "az-central", "central")).toBe(1);
    expect(check("dcn0", "dcn-3-copy-to-edge", "standard", "az-dcn0", "dcn0-rbd")).toBe(0);
    // Passed, but a part of it was not verified: never 1.
    expect(check("dcn0", "dcn-4-boot-from-volume", "standard", "az-dcn0", "dcn0-rbd")).toBe(0);
    expect(check("dcn0", "dcn-5-rbd-parent", "read-only", "az-dcn0", "dcn0-rbd")).toBe(0);
    expect(check("dcn0", "rule-1-az-store", "standard", "az-dcn0", "dcn0-rbd")).toBe(1);
    expect([...m.keys()].filter((k) => k.includes("dcn-6-cinder-snapshot"))).toEqual([]);
    expect(m.get(key("dcn_verify_check_duration_seconds", { site: "dcn0", check: "rule-1-az-store", tier: "standard" }))).toBe(0.25);
  });

  test("every not-verified check is 0, whatever else it carries", async () => {
    const tests = [
      t("a-skipped", { status: "skipped", notVerified: ["why"] }),
      t("b-skipped-no-reason", { status: "skipped" }),
      t("c-part", { notVerified: ["a part"], warnings: ["w"] }),
      t("d-failed-with-warning", { status: "failed", warnings: ["w"] }),
    ];
    const m = samples(await buildMetrics(runSummary({ sites: [site("dcn1", tests)] }), sites));
    const values = [...m].filter(([k]) => k.startsWith("dcn_verify_check_success{")).map(([, v]) => v);
    expect(values).toEqual([0, 0, 0, 0]);
  });

  test("per site: the checks by outcome, the site's verdict, when the run ended and when it last passed", async () => {
    const m = samples(await buildMetrics(runSummary(), sites));
    const outcomes = (s: string) =>
      Object.fromEntries(
        ["passed", "failed", "warning", "not_verified"].map((o) => [o, m.get(key("dcn_verify_checks", { site: s, outcome: o }))]),
      );
    expect(outcomes("central")).toEqual({ passed: 1, failed: 0, warning: 1, not_verified: 0 });
    expect(outcomes("dcn0")).toEqual({ passed: 1, failed: 1, warning: 0, not_verified: 2 });
    expect(m.get(key("dcn_verify_site_success", { site: "central", availability_zone: "az-central" }))).toBe(1);
    expect(m.get(key("dcn_verify_site_success", { site: "dcn0", availability_zone: "az-dcn0" }))).toBe(0);
    expect(m.get(key("dcn_verify_last_run_timestamp_seconds", { site: "central" }))).toBe(END);
    expect(m.get(key("dcn_verify_last_run_timestamp_seconds", { site: "dcn0" }))).toBe(END);
    expect(m.get(key("dcn_verify_last_success_timestamp_seconds", { site: "central" }))).toBe(END);
    expect(m.has(key("dcn_verify_last_success_timestamp_seconds", { site: "dcn0" }))).toBe(false);
  });

  test("a site fails as the exit code reads it: its verdict, an interrupted run, an rbd image left in its pools", async () => {
    const success = async (s: RunSummary, name: string) =>
      samples(await buildMetrics(s, sites)).get(
        key("dcn_verify_site_success", { site: name, availability_zone: name === "central" ? "az-central" : `az-${name}` }),
      );
    expect(await success(runSummary({ interrupted: true }), "central")).toBe(0);
    const rbd = runSummary({ rbdLeftovers: [{ site: "central" } as NonNullable<RunSummary["rbdLeftovers"]>[number]] });
    expect(await success(rbd, "central")).toBe(0);
    // A known issue covers the failure: the site's verdict passes, the check stays 0.
    const known = runSummary({ sites: [site("dcn1", [t("dcn-3-copy-to-edge", { status: "failed" })])] });
    const m = samples(await buildMetrics(known, sites));
    expect(m.get(key("dcn_verify_site_success", { site: "dcn1", availability_zone: "az-dcn1" }))).toBe(1);
    expect([...m].find(([k]) => k.startsWith("dcn_verify_check_success{"))?.[1]).toBe(0);
    // An older summary without verdicts: judged again (no gates evaluated: failed).
    const old = runSummary({ sites: [site("dcn1", [t("dcn-3-copy-to-edge")], { verdict: undefined })] });
    expect(await success(old, "dcn1")).toBe(0);
  });

  test("the labels come from the config; a site it lacks, or no config, is an error naming the site", async () => {
    await expect(buildMetrics(runSummary(), { central: sites.central, edges: [] })).rejects.toThrow(
      /site dcn0 of the run is not in the config/,
    );
    await expect(buildMetrics(runSummary())).rejects.toThrow(/central come from the run's config/);
  });

  test("each call has a registry of its own: no default metrics, nothing kept from an earlier call", async () => {
    const a = await buildMetrics(runSummary(), sites);
    const b = await buildMetrics(runSummary({ sites: [site("dcn1", [t("dcn-1-stores")])] }), sites);
    expect(a).not.toMatch(/process_|nodejs_/);
    expect(b).not.toContain(`site="dcn0"`);
    expect(await buildMetrics(runSummary(), sites)).toBe(a);
  });

  test("promtool check metrics passes the exposition of a run and of a canary verify", async () => {
    for (const text of [await buildMetrics(runSummary(), sites), await buildMetrics(canarySummary())]) {
      const r = await promtool(["check", "metrics"], text);
      expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    }
    // The check bites: a gauge named like a counter is a lint problem.
    const bad = await promtool(["check", "metrics"], "# HELP x_total a gauge\n# TYPE x_total gauge\nx_total 1\n");
    expect(bad.exitCode).not.toBe(0);
  });
});

describe("no UUID in a label", () => {
  test("the guard throws on a UUID or a 32-hex id anywhere in a value, naming the metric and label", () => {
    expect(() => assertNoUuid("m", { check: "dcn-1-stores", site: "dcn0" })).not.toThrow();
    expect(() => assertNoUuid("m", { check: "img-4bd2f6a2-2c1e-4c55-9b1e-0f6c2e8a9d11" })).toThrow(
      /metric m: label check="img-4bd2f6a2-2c1e-4c55-9b1e-0f6c2e8a9d11" holds a UUID/,
    );
    expect(() => assertNoUuid("m", { site: "4BD2F6A22C1E4C559B1E0F6C2E8A9D11" })).toThrow(MetricsError);
  });

  test("a run whose test id or site name holds a UUID exports nothing", async () => {
    const uuid = "4bd2f6a2-2c1e-4c55-9b1e-0f6c2e8a9d11";
    await expect(buildMetrics(runSummary({ sites: [site("dcn0", [t(`volume-${uuid}`)])] }), sites)).rejects.toThrow(/holds a UUID/);
    await expect(buildMetrics(canarySummary({ sites: [site(uuid, [t("canary-image")])] }))).rejects.toThrow(/label site=.* holds a UUID/);
  });

  test("no label of the expositions holds a UUID (the canary set's and run's ids stay out)", async () => {
    const text = (await buildMetrics(runSummary(), sites)) + (await buildMetrics(canarySummary()));
    expect(text).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i);
    expect(text).not.toContain("20261201t100000-abcd");
  });
});

/** A canary verify at two edges: dcn0's image is intact, its volumes differ, its server was not verified. */
const canarySummary = (over: Partial<RunSummary> = {}): RunSummary =>
  runSummary({
    runId: "20261202t100000-beef",
    tier: "read-only",
    suites: ["canary-verify"],
    sites: [
      site("dcn0", [
        t("canary-image", { tier: "read-only" }),
        t("canary-volumes", { tier: "read-only", status: "failed", failure: "volume 4bd2...: rbd parent was x, is y" }),
        t("canary-server", { tier: "read-only", status: "skipped", notVerified: ["transport none"] }),
        t("canary-copy", { status: "skipped", aboveTier: true }),
      ]),
      site("dcn1", [t("canary-image", { tier: "read-only" })], { status: "failed", verdict: { ok: false, reasons: ["cleanup"] } }),
    ],
    ...over,
  });

describe("the metrics of a canary verify", () => {
  test("a canary is intact (1) only when verified as planted; the run's names are not exported, nor a config needed", async () => {
    const text = await buildMetrics(canarySummary());
    const m = samples(text);
    expect(m.get(key("dcn_verify_canary_intact", { site: "dcn0", canary: "canary-image" }))).toBe(1);
    expect(m.get(key("dcn_verify_canary_intact", { site: "dcn0", canary: "canary-volumes" }))).toBe(0);
    expect(m.get(key("dcn_verify_canary_intact", { site: "dcn0", canary: "canary-server" }))).toBe(0);
    expect(m.has(key("dcn_verify_canary_intact", { site: "dcn0", canary: "canary-copy" }))).toBe(false);
    expect(m.get(key("dcn_verify_canary_verify_success", { site: "dcn0" }))).toBe(1);
    expect(m.get(key("dcn_verify_canary_verify_success", { site: "dcn1" }))).toBe(0);
    expect(m.get(key("dcn_verify_canary_last_verify_timestamp_seconds", { site: "dcn1" }))).toBe(END);
    // The run's names stay the run's: a push of either never replaces the other's (POST replaces by name).
    expect(text).not.toMatch(/^dcn_verify_(check|site|last|checks)/m);
  });

  test("a canary plant run exports nothing", async () => {
    await expect(buildMetrics(canarySummary({ suites: ["canary-plant"] }))).rejects.toThrow(/canary plant run/);
  });
});

describe("the textfile", () => {
  let dir = "";
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "dcnv-metrics-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("is replaced whole, by a rename of a file written beside it, and nothing else is left in the directory", () => {
    const file = join(dir, "dcn-verify.prom");
    writeFileSync(file, "old 1\n");
    const before = statSync(file).ino;
    writeMetricsTextfile(file, "new 1\n");
    expect(readFileSync(file, "utf8")).toBe("new 1\n");
    // A new inode: the file was renamed over, never written in place where the collector could read it half done.
    expect(statSync(file).ino).not.toBe(before);
    expect(readdirSync(dir)).toEqual(["dcn-verify.prom"]);
  });

  test("must be a .prom file, in a directory that exists; the error names --metrics-textfile", () => {
    expect(() => writeMetricsTextfile(join(dir, "dcn-verify.txt"), "x 1\n")).toThrow(
      /^--metrics-textfile: .*dcn-verify\.txt must end with \.prom/,
    );
    expect(() => checkMetricsTargets({ "metrics-textfile": join(dir, "nope", "x.prom") })).toThrow(
      /^--metrics-textfile: the directory .* does not exist/,
    );
  });

  test("a write that fails leaves the old file and no temporary file", () => {
    const file = join(dir, "busy.prom");
    mkdirSync(file);
    expect(() => writeMetricsTextfile(file, "x 1\n")).toThrow(/--metrics-textfile: cannot write/);
    expect(readdirSync(dir)).toEqual(["busy.prom"]);
  });
});

describe("the push to a Pushgateway", () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r) ?? r(undefined));
    server = undefined;
  });

  /** A Pushgateway that records each request, and answers with status (or never, for "hang"). */
  async function gateway(answer: number | "hang" = 200) {
    const seen: { method: string; url: string; body: string; auth?: string }[] = [];
    server = createServer((req: IncomingMessage, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        seen.push({ method: req.method!, url: req.url!, body, ...(req.headers.authorization ? { auth: req.headers.authorization } : {}) });
        if (answer !== "hang") res.writeHead(answer).end(answer >= 400 ? "refused" : "");
      });
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    return { seen, port: (server.address() as AddressInfo).port };
  }

  test("one POST per site, grouped by job dcn_verify and site (no instance), carrying only that site's series", async () => {
    const { seen, port } = await gateway();
    const { pushed } = await pushMetrics(`http://user:s3cret@127.0.0.1:${port}`, runSummary(), sites);
    expect(pushed).toEqual(["central", "dcn0"]);
    expect(seen.map((r) => [r.method, r.url]).sort()).toEqual([
      ["POST", "/metrics/job/dcn_verify/site/central"],
      ["POST", "/metrics/job/dcn_verify/site/dcn0"],
    ]);
    const dcn0 = seen.find((r) => r.url.endsWith("/dcn0"))!;
    expect(dcn0.body).toContain(`dcn_verify_site_success{site="dcn0",availability_zone="az-dcn0"} 0`);
    expect(dcn0.body).not.toContain(`site="central"`);
    expect(dcn0.body).not.toContain("instance");
    // dcn0 failed: its push leaves out the last success, so the Pushgateway keeps the one of its last passing run.
    expect(dcn0.body).not.toContain("dcn_verify_last_success_timestamp_seconds");
    expect(seen.find((r) => r.url.endsWith("/central"))!.body).toContain(
      `dcn_verify_last_success_timestamp_seconds{site="central"} ${END}`,
    );
    expect(dcn0.auth).toBe(`Basic ${Buffer.from("user:s3cret").toString("base64")}`);
  });

  test("a refusal names the site and the URL without its credentials", async () => {
    const { port } = await gateway(500);
    const e = await failure(pushMetrics(`http://user:s3cret@127.0.0.1:${port}/`, runSummary(), sites));
    expect(e).toBeInstanceOf(MetricsError);
    expect(e.message).toContain(`--pushgateway http://127.0.0.1:${port}/: push failed: site central: push failed with status 500`);
    expect(e.message).not.toContain("s3cret");
    expect(e.message).not.toContain("user@");
  });

  test("a Pushgateway that does not answer fails within the timeout, naming it", async () => {
    const { port } = await gateway("hang");
    const started = Date.now();
    const e = await failure(pushMetrics(`http://u:pw@127.0.0.1:${port}`, canarySummary(), undefined, { timeoutMs: 300 }));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(e.message).toMatch(
      new RegExp(`^--pushgateway http://127\\.0\\.0\\.1:${port}: push failed: site dcn0: no answer within 0\\.3 s`),
    );
    expect(e.message).not.toContain("pw");
  });

  test("a URL that is not http(s) is refused before anything, naming --pushgateway and hiding the password", () => {
    expect(() => checkPushgatewayUrl("pushgateway:9091")).toThrow(/^--pushgateway: 'pushgateway:9091' is not an http\(s\) URL/);
    expect(() => checkPushgatewayUrl("not a url")).toThrow(/^--pushgateway: 'not a url' is not a URL/);
    expect(() => checkMetricsTargets({ pushgateway: "ftp://u:hunter2@gw:2121" })).toThrow(/^--pushgateway: 'ftp:\/\/gw:2121' is not/);
    expect(checkPushgatewayUrl("https://gw.example:9091/prefix").pathname).toBe("/prefix");
    expect(redactUrl("https://ci:p@ss@gw.example:9091/prefix")).toBe("https://gw.example:9091/prefix");
  });
});

describe("the example alerting rules and scrape config", () => {
  test("promtool checks them", async () => {
    const rules = await promtool(["check", "rules", "examples/prometheus/dcn-verify.rules.yml"]);
    expect(rules.exitCode, `${rules.stdout}\n${rules.stderr}`).toBe(0);
    const config = await promtool(["check", "config", "examples/prometheus/prometheus.yml"]);
    expect(config.exitCode, `${config.stdout}\n${config.stderr}`).toBe(0);
  });

  test("the rules alert on a failing check, a last success too old, and a canary not intact", () => {
    const text = readFileSync(join(PACKAGE_ROOT, "examples/prometheus/dcn-verify.rules.yml"), "utf8");
    expect(text).toContain("expr: dcn_verify_check_success == 0");
    expect(text).toContain("expr: time() - dcn_verify_last_success_timestamp_seconds > 26 * 3600");
    expect(text).toContain("expr: dcn_verify_canary_intact == 0");
    const scrape = readFileSync(join(PACKAGE_ROOT, "examples/prometheus/prometheus.yml"), "utf8");
    expect(scrape).toContain("honor_labels: true");
  });
});
