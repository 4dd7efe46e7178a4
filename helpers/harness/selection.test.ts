import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { configSchema } from "../config/schema.ts";
import { newRunId } from "./naming.ts";
import { splitAllureResults } from "./report.ts";
import { selectSites, selectSuites } from "./selection.ts";

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

  test("central always runs first; --sites picks edges and refuses an unknown site by name", () => {
    expect(selectSites(cfg)).toEqual(["central", "dcn0", "dcn1"]);
    expect(selectSites(cfg, "dcn1")).toEqual(["central", "dcn1"]);
    expect(() => selectSites(cfg, "dcn1,dcn9")).toThrow(/--sites: unknown site dcn9; the config has central, dcn0, dcn1/);
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
    const dirs = splitAllureResults(results, dir, ["central", "dcn0", "dcn1"]);
    expect(readdirSync(dirs.dcn0).sort()).toEqual(["a-result.json", "a1-attachment.txt"]);
    expect(readdirSync(dirs.dcn1).sort()).toEqual(["b-result.json", "b1-attachment.txt"]);
    expect(readdirSync(dirs.central)).toEqual([]);
  });
});
