import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import type { RunSummary, SiteSummary } from "../harness/model.ts";
import { mergeShards } from "./merge.ts";

const cloud = { authUrl: "http://127.0.0.1:5000/v3", region: "RegionOne", project: "admin" };
const siteOf = (site: string, status: "passed" | "failed" = "passed"): SiteSummary => ({
  site,
  status,
  tests: [{ id: "dcn-1-stores", title: "1. stores", status, durationMs: 10 }],
  errors: [],
  gates: { ok: status === "passed", results: [], known: [], expired: [] },
});

function shard(root: string, runId: string, index: number, sites: SiteSummary[], over: Partial<RunSummary> = {}): string {
  const dir = join(root, runId);
  const s: RunSummary = {
    runId,
    group: "pipeline-7",
    shard: { index, count: 2 },
    configSites: ["central", "dcn0", "dcn1", "dcn2"],
    cloud,
    tier: "standard",
    suites: ["procedure"],
    startedAt: `2026-12-01T10:0${index}:00.000Z`,
    finishedAt: `2026-12-01T10:1${index}:00.000Z`,
    interrupted: false,
    sites,
    rbdLeftovers: [],
    rbdNotChecked: [],
    selection: { sites: sites.map((x) => x.site), strict: false, tierGiven: false },
    ...over,
  };
  for (const site of sites) {
    mkdirSync(join(dir, site.site, "report"), { recursive: true });
    writeFileSync(join(dir, site.site, "report", "index.html"), `<html>${site.site}</html>`);
  }
  mkdirSync(join(root, "history"), { recursive: true });
  for (const site of sites) writeFileSync(join(root, "history", `${site.site}.jsonl`), `{"run":"${runId}","site":"${site.site}"}\n`);
  writeFileSync(join(dir, "summary.json"), JSON.stringify(s));
  return dir;
}

describe("dcn-verify merge", () => {
  test("joins the shards' sites in the config's order, with their reports, JUnit, fleet page and history", async () => {
    const root = mkdtempSync(join(tmpdir(), "dcnv-merge-"));
    const a = shard(root, "20261201t100100-aaaa", 1, [siteOf("central"), siteOf("dcn1")]);
    const b = shard(root, "20261201t100200-bbbb", 2, [siteOf("dcn0"), siteOf("dcn2", "failed")]);
    const out = join(root, "merged");
    const m = await mergeShards([b, a], out);
    expect(m.summary.sites.map((s) => s.site)).toEqual(["central", "dcn0", "dcn1", "dcn2"]);
    expect(m.summary).toMatchObject({ group: "pipeline-7", shards: ["20261201t100100-aaaa", "20261201t100200-bbbb"], tier: "standard" });
    expect(m.summary.startedAt).toBe("2026-12-01T10:01:00.000Z");
    expect(m.summary.finishedAt).toBe("2026-12-01T10:12:00.000Z");
    expect(m.exitCode).toBe(1);
    for (const site of ["central", "dcn0", "dcn1", "dcn2"]) {
      expect(readFileSync(join(m.runDir, site, "report", "index.html"), "utf8")).toBe(`<html>${site}</html>`);
      expect(readFileSync(join(out, "history", `${site}.jsonl`), "utf8")).toContain(`"site":"${site}"`);
    }
    expect(readFileSync(join(m.runDir, "junit.xml"), "utf8")).toContain('name="dcn2"');
    expect(existsSync(join(m.runDir, "index.html"))).toBe(true);
    expect(JSON.parse(readFileSync(join(m.runDir, "summary.json"), "utf8")).sites).toHaveLength(4);
  });

  test("records the run's selection as one unsharded run does, and carries the shards' sweep leftovers as records", async () => {
    const root = mkdtempSync(join(tmpdir(), "dcnv-merge-"));
    const volume = { site: "dcn1", kind: "volume" as const, id: "v1", name: "dcnv-v", reason: "HTTP 500" };
    const a = shard(root, "20261201t100100-aaaa", 1, [siteOf("central"), siteOf("dcn1")], { sweepLeftovers: [volume] });
    const b = shard(root, "20261201t100200-bbbb", 2, [siteOf("dcn0"), siteOf("dcn2")]);
    const m = await mergeShards([a, b], join(root, "merged"));
    expect(m.summary.selection).toEqual({ sites: ["central", "dcn0", "dcn1", "dcn2"], strict: false, tierGiven: false });
    expect(m.summary.sweepLeftovers).toEqual([volume]);
    expect(m.summary.leftBehind).toBeUndefined();
  });

  test("judges as run does: a failed test fails the merged run even when its shard's gates were met", async () => {
    const root = mkdtempSync(join(tmpdir(), "dcnv-merge-"));
    const gatesMet = { ...siteOf("dcn2", "failed"), gates: { ok: true, results: [], known: [], expired: [] } };
    const a = shard(root, "20261201t100100-aaaa", 1, [siteOf("central"), siteOf("dcn1")]);
    const b = shard(root, "20261201t100200-bbbb", 2, [siteOf("dcn0"), gatesMet]);
    const m = await mergeShards([a, b], join(root, "merged"));
    expect(m.exitCode).toBe(1);
    expect(m.summary.verdict?.reasons).toEqual(["dcn2: 1 failed test(s) no known issue covers: dcn-1-stores"]);
    const known = {
      ...gatesMet,
      gates: {
        ok: true,
        results: [],
        expired: [],
        known: [{ test: "dcn-1-stores", reason: "r", link: "https://x/1", expires: "2099-01-01", message: "m" }],
      },
    };
    const c = shard(root, "20261201t100300-cccc", 2, [siteOf("dcn0"), known]);
    expect((await mergeShards([a, c], join(root, "merged"))).exitCode).toBe(0);
  });

  test("refuses what is not one sharded run, naming the runs", async () => {
    const root = mkdtempSync(join(tmpdir(), "dcnv-merge-"));
    const a = shard(root, "20261201t100100-aaaa", 1, [siteOf("central")]);
    const b = shard(root, "20261201t100200-bbbb", 2, [siteOf("dcn0")]);
    const other = shard(root, "20261201t100300-cccc", 2, [siteOf("dcn1")], { group: "pipeline-8" });
    const twice = shard(root, "20261201t100400-dddd", 2, [siteOf("central")]);
    const plain = shard(root, "20261201t100500-eeee", 1, [siteOf("central")], { shard: undefined });
    await expect(mergeShards([a], root)).rejects.toThrow("shard(s) 2/2 of group pipeline-7 not given");
    await expect(mergeShards([a, b, twice], root)).rejects.toThrow(
      "shard 2/2 is given twice: runs 20261201t100200-bbbb and 20261201t100400-dddd",
    );
    await expect(mergeShards([a, other], root)).rejects.toThrow(
      "the shards differ in run group: 20261201t100100-aaaa has pipeline-7, 20261201t100300-cccc has pipeline-8",
    );
    const otherConfig = shard(root, "20261201t100600-ffff", 2, [siteOf("dcn1")], { configSites: ["central", "dcn1"] });
    await expect(mergeShards([a, otherConfig], root)).rejects.toThrow(
      "the shards differ in the config's sites: 20261201t100100-aaaa has central,dcn0,dcn1,dcn2, 20261201t100600-ffff has central,dcn1",
    );
    await expect(mergeShards([a, twice], root)).rejects.toThrow(
      "site central is in two shards: runs 20261201t100100-aaaa and 20261201t100400-dddd",
    );
    await expect(mergeShards([plain, b], root)).rejects.toThrow(
      "run 20261201t100500-eeee is not a shard (it was not run with --shard I/N --group ID)",
    );
    await expect(mergeShards([a, b], root)).rejects.toThrow("the shards do not cover the run: no shard selected dcn1, dcn2");
    const narrowed = (i: number, sites: string[]) =>
      shard(
        root,
        `20261201t10070${i}-nnnn`,
        i,
        sites.map((x) => siteOf(x)),
        {
          selection: { sites, sitesAsked: ["central", "dcn0"], strict: false, tierGiven: false },
        },
      );
    await expect(mergeShards([narrowed(1, ["central"]), narrowed(2, ["dcn0"])], root)).rejects.toThrow(
      "the shards do not cover the run: no shard selected dcn1, dcn2 (the shards were run with --sites central,dcn0)",
    );
    const strict = shard(root, "20261201t100800-ssss", 2, [siteOf("dcn0"), siteOf("dcn2")], {
      selection: { sites: ["dcn0", "dcn2"], strict: true, tierGiven: false },
    });
    const c = shard(root, "20261201t100900-cccc", 1, [siteOf("central"), siteOf("dcn1")]);
    await expect(mergeShards([c, strict], root)).rejects.toThrow(/the shards differ in selection \(--sites, --tests, --strict, --tier\)/);
    const old = shard(root, "20261201t101000-oooo", 2, [siteOf("dcn0"), siteOf("dcn2")], { selection: undefined });
    await expect(mergeShards([c, old], root)).rejects.toThrow("run(s) 20261201t101000-oooo record no selection");
    await expect(mergeShards([join(root, "nothing")], root)).rejects.toThrow(
      `run '${join(root, "nothing")}' does not exist: no summary.json in`,
    );
  });
});
