import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { configSchema } from "../config/schema.ts";
import { newRunId } from "../harness/naming.ts";
import { AllureResultsBySite } from "./reports/allure.ts";
import { notApplicable } from "../harness/catalog.ts";
import { buildPlan } from "./plan.ts";
import { nothingToRun, requireSomethingToRun, sitePlan } from "./pipeline/prepare.ts";
import { parseMaxParallel, parseShard, requireGroup, select, selectGroup, selectSites, selectSuites, shardSites } from "./selection.ts";

const site = (name: string) => ({ name, az: name, store: name, ceph: { cluster: name, transport: { kind: "local" } } });
const cfg = configSchema.parse({ cloud: { cloud: "x" }, flavor: "f", central: site("central"), edges: [site("dcn0"), site("dcn1")] });

describe("run", () => {
  test("run ids sort by time and fit resource names", () => {
    const a = newRunId(new Date("2026-11-23T10:00:00Z"));
    expect(a).toMatch(/^20261123t100000-[0-9a-f]{4}$/);
    expect(newRunId(new Date("2026-11-23T10:00:01Z")) > a).toBe(true);
  });

  test("--suites picks groups in a fixed order and refuses an unknown group by name", () => {
    expect(selectSuites()).toEqual(["procedure", "multistore", "rules", "conformance"]);
    expect(selectSuites("rules, procedure")).toEqual(["procedure", "rules"]);
    expect(() => selectSuites("procedure,rulez")).toThrow(
      "--suites: unknown group rulez; the groups are procedure, multistore, rules, conformance",
    );
    expect(() => selectSuites(",")).toThrow("--suites: unknown group (none given)");
  });

  test("a selection under which no site has a test is refused, naming why each site has nothing", () => {
    expect(() => requireSomethingToRun(cfg, select(cfg, { suites: "rules", sites: "central" }))).toThrow(
      "nothing to run, so nothing would be verified:\n  central (central): suites rules hold no test that runs at the central site",
    );
    expect(() => requireSomethingToRun(cfg, select(cfg, { suites: "rules" }))).not.toThrow();
    expect(nothingToRun(cfg, select(cfg, { suites: "rules" }))).toEqual([]);
    const noBackups = configSchema.parse({
      cloud: { cloud: "x" },
      flavor: "f",
      central: site("central"),
      edges: [{ ...site("dcn0"), ceph: { cluster: "dcn0", transport: { kind: "local" }, pools: { backups: false } } }],
    });
    const both = configSchema.parse({ ...noBackups, edges: [...noBackups.edges, site("dcn1")] });
    expect(nothingToRun(both, select(both, { tests: "conf-14" }))).toEqual([
      "central: nothing to run there, not counted: conf-14-cinder-backup: conf-14 judges the edges' backups unless conformance.backupSites lists central",
      "dcn0: nothing to run there, not counted: conf-14-cinder-backup: dcn0 has no backups pool (its ceph.pools.backups is false)",
    ]);
    expect(() => requireSomethingToRun(noBackups, select(noBackups, { tests: "conf-14", sites: "dcn0" }))).toThrow(
      "  central (central): conf-14-cinder-backup: conf-14 judges the edges' backups unless conformance.backupSites lists central\n" +
        "  dcn0 (edge): conf-14-cinder-backup: dcn0 has no backups pool (its ceph.pools.backups is false)",
    );
  });

  test("central always runs first; --sites picks edges and refuses an unknown site by name", () => {
    expect(selectSites(cfg)).toEqual(["central", "dcn0", "dcn1"]);
    expect(selectSites(cfg, "dcn1")).toEqual(["central", "dcn1"]);
    expect(() => selectSites(cfg, "dcn1,dcn9")).toThrow(/--sites: unknown site dcn9; the config has central, dcn0, dcn1/);
  });

  test("--tests runs the tests named and what they build on, at the sites they run at, and refuses what is not there", () => {
    const six = select(cfg, { tests: "dcn-6" });
    expect(six.tests).toEqual(["dcn-3-copy-to-edge", "dcn-4-boot-from-volume", "dcn-6-cinder-snapshot"]);
    expect(six.suites).toEqual(["procedure"]);
    // central holds none of them: it is not run.
    expect(sitePlan(cfg, six).map((s) => s.site)).toEqual(["dcn0", "dcn1"]);
    const mixed = select(cfg, { tests: "conf-14-cinder-backup, dcn-1", sites: "dcn1" });
    expect(mixed.tests).toEqual(["dcn-1-stores", "conf-14-cinder-backup"]);
    expect(mixed.suites).toEqual(["procedure", "conformance"]);
    expect(sitePlan(cfg, mixed).map((s) => [s.site, s.groups])).toEqual([
      ["central", ["procedure"]],
      ["dcn1", ["conformance"]],
    ]);
    expect(select(cfg, {}).tests).toBeUndefined();
    expect(() => select(cfg, { tests: "dcn-9,dcn-5" })).toThrow(/--tests: unknown test dcn-9; give ids as dcn-verify plan prints them/);
    expect(() => select(cfg, { tests: "dcn" })).toThrow(/--tests: unknown test dcn;/);
    expect(() => select(cfg, { tests: "dcn-5", suites: "rules" })).toThrow(
      "--tests: dcn-3-copy-to-edge, dcn-4-boot-from-volume, dcn-5-rbd-parent not in --suites rules",
    );
  });

  test("a test the site's config rules out is not applicable there: conf-14 where ceph.pools.backups is false", () => {
    const noBackups = configSchema.parse({
      ...cfg,
      edges: [cfg.edges[0], { ...cfg.edges[1], ceph: { ...cfg.edges[1]!.ceph, pools: { backups: false } } }],
    });
    expect(notApplicable("conf-14-cinder-backup", noBackups, "dcn1")).toBe("dcn1 has no backups pool (its ceph.pools.backups is false)");
    expect(notApplicable("conf-14-cinder-backup", noBackups, "dcn0")).toBeUndefined();
    expect(notApplicable("conf-2-ceph-pools", noBackups, "dcn1")).toBeUndefined();
    // Backups that all land at central: dcn1 takes them without a pool of its own.
    const atCentral = configSchema.parse({ ...noBackups, conformance: { backupsSite: "central" } });
    expect(notApplicable("conf-14-cinder-backup", atCentral, "dcn1")).toBeUndefined();
    const dcn1 = buildPlan(noBackups, { tests: "conf-14" }).sites.find((s) => s.site === "dcn1")!;
    expect(dcn1.tests).toEqual([
      expect.objectContaining({ id: "conf-14-cinder-backup", runs: false, skip: expect.stringMatching(/^not applicable: /) }),
    ]);
  });

  test("Allure results are split by their site label, with the attachments they reference", () => {
    const dir = mkdtempSync(join(tmpdir(), "dcnv-split-"));
    const results = join(dir, "allure-results");
    mkdirSync(results);
    const result = (uuid: string, site: string, att: string) =>
      writeFileSync(
        join(results, `${uuid}-result.json`),
        JSON.stringify({
          uuid,
          labels: [{ name: "site", value: site }],
          steps: [{ steps: [{ attachments: [{ source: att }] }] }],
        }),
      );
    result("a", "dcn0", "a1-attachment.txt");
    result("b", "dcn1", "b1-attachment.txt");
    writeFileSync(join(results, "a1-attachment.txt"), "rbd");
    writeFileSync(join(results, "b1-attachment.txt"), "rbd");
    const split = new AllureResultsBySite(results, dir);
    expect(readdirSync(split.take("dcn0")).sort()).toEqual(["a-result.json", "a1-attachment.txt"]);
    // A site that ends later finds the results written since, and only its own.
    result("c", "dcn1", "c1-attachment.txt");
    writeFileSync(join(results, "c1-attachment.txt"), "rbd");
    expect(readdirSync(split.take("dcn1")).sort()).toEqual(["b-result.json", "b1-attachment.txt", "c-result.json", "c1-attachment.txt"]);
    expect(readdirSync(split.take("central"))).toEqual([]);
  });
});

describe("--max-parallel", () => {
  test("takes a whole number of sites, at least 1, and refuses anything else naming the option", () => {
    expect(parseMaxParallel(undefined)).toBeUndefined();
    expect(parseMaxParallel("2")).toBe(2);
    for (const bad of ["0", "-1", "1.5", "two", ""])
      expect(() => parseMaxParallel(bad), bad).toThrow(/--max-parallel: expected a whole number of sites, at least 1, got/);
  });

  test("the plan holds central first, then the edges in the config's order, each site's groups in the catalog's order", () => {
    const all = select(cfg, { sites: "dcn1,central,dcn0" });
    expect(sitePlan(cfg, all).map((s) => [s.site, s.groups])).toEqual([
      ["central", ["procedure", "multistore", "conformance"]],
      ["dcn0", ["procedure", "rules", "conformance"]],
      ["dcn1", ["procedure", "rules", "conformance"]],
    ]);
  });

  test("--shard i/n: central in the first shard, the edges round-robin in the config's order, every site in one shard", () => {
    const sites = ["central", "e0", "e1", "e2", "e3", "e4"];
    const shards = [1, 2, 3].map((index) => shardSites(sites, "central", { index, count: 3 }));
    expect(shards).toEqual([["central", "e0", "e3"], ["e1", "e4"], ["e2"]]);
    expect(shards.flat().sort()).toEqual([...sites].sort());
    expect(shardSites(sites, "central", undefined)).toEqual(sites);
    expect(() => shardSites(["central", "e0"], "central", { index: 3, count: 3 })).toThrow(
      "--shard 3/3: no site falls to this shard (central and 1 edge(s) over 3 shards)",
    );
    expect(parseShard(" 2/5 ")).toEqual({ index: 2, count: 5 });
    for (const bad of ["0/2", "3/2", "1", "a/b", "1/0", "-1/2"])
      expect(() => parseShard(bad), bad).toThrow(`--shard: expected i/n with 1 <= i <= n (1/2 is the first of two shards), got '${bad}'`);
    const sel = select(cfg, { shard: "2/2", group: "pipeline-42" }, {});
    expect(sel).toMatchObject({ sites: ["dcn1"], shard: { index: 2, count: 2 }, group: "pipeline-42" });
    expect(select(cfg, { shard: "1/2", group: "g" }, {}).sites).toEqual(["central", "dcn0"]);
  });

  test("a sharded run needs a group to run (a plan does not): --group, else the CI pipeline's id; a bad one is refused naming where it came from", () => {
    expect(selectGroup(undefined, { index: 1, count: 2 }, {})).toBeUndefined();
    expect(() => requireGroup({ shard: { index: 1, count: 2 } })).toThrow(
      "--shard 1/2 needs --group <id>, the same for every shard of the run (or DCN_VERIFY_GROUP, CI_PIPELINE_ID, GITHUB_RUN_ID, ZUUL_BUILDSET in the environment)",
    );
    expect(() => requireGroup({ shard: { index: 1, count: 2 }, group: "g" })).not.toThrow();
    expect(() => requireGroup({})).not.toThrow();
    expect(selectGroup(undefined, { index: 1, count: 2 }, { GITHUB_RUN_ID: "9120" })).toBe("9120");
    expect(selectGroup("mine", { index: 1, count: 2 }, { GITHUB_RUN_ID: "9120" })).toBe("mine");
    expect(selectGroup(undefined, undefined, { GITHUB_RUN_ID: "9120" })).toBeUndefined();
    expect(selectGroup("solo", undefined, {})).toBe("solo");
    expect(() => selectGroup("a b", undefined, {})).toThrow("--group: a run group is 1 to 64 letters");
    expect(() => selectGroup(undefined, { index: 1, count: 2 }, { CI_PIPELINE_ID: "x/y" })).toThrow("CI_PIPELINE_ID: a run group is");
  });
});
