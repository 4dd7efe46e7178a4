import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { runFixture } from "./fixtures/run-fixture.ts";

interface Mark {
  site: string;
  group: string;
  n: number;
  at: "start" | "end";
  t: number;
}

test("a site's suite files overlap, each file's tests run in order, and no more sites run at once than allowed, in the plan's order", async () => {
  const dir = mkdtempSync(join(tmpdir(), "dcnv-layout-"));
  const log = join(dir, "marks.jsonl");
  try {
    await runFixture("layout.fixture.ts", {
      maxConcurrency: 8,
      provide: { layoutLog: log },
      reporters: [{}],
    });
    const marks = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Mark);
    const at = (site: string, group: string, n: number, what: Mark["at"]) =>
      marks.find((m) => m.site === site && m.group === group && m.n === n && m.at === what)!.t;
    expect(marks).toHaveLength(20);
    for (const [site, group] of [
      ["central", "procedure"],
      ["central", "conformance"],
      ["dcn0", "procedure"],
      ["dcn0", "conformance"],
      ["dcn1", "procedure"],
    ] as const)
      expect(at(site, group, 2, "start"), `${site} ${group}`).toBeGreaterThanOrEqual(at(site, group, 1, "end"));
    // A site's two files run side by side.
    expect(at("central", "conformance", 1, "start")).toBeLessThan(at("central", "procedure", 1, "end"));
    expect(at("dcn0", "conformance", 1, "start")).toBeLessThan(at("dcn0", "procedure", 1, "end"));
    // Two sites at once: dcn1 begins after central or dcn0 has ended.
    const ends = (site: string) => Math.max(...marks.filter((m) => m.site === site).map((m) => m.t));
    const begins = (site: string) => Math.min(...marks.filter((m) => m.site === site).map((m) => m.t));
    expect(begins("dcn0")).toBeLessThan(ends("central"));
    expect(begins("dcn1")).toBeGreaterThanOrEqual(Math.min(ends("central"), ends("dcn0")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60000);
