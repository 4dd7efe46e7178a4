import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { ReportGenerator } from "./allure.ts";

function results(dir: string, site: string, names: string[]): string {
  const out = join(dir, site, "allure-results");
  mkdirSync(out, { recursive: true });
  names.forEach((name, i) =>
    writeFileSync(
      join(out, `${site}-${i}-result.json`),
      JSON.stringify({
        uuid: `${site}-${i}`,
        historyId: `${site}-${name}`,
        name,
        fullName: `${site} ${name}`,
        status: "passed",
        stage: "finished",
        start: 1,
        stop: 2,
        labels: [{ name: "site", value: site }],
        steps: [],
        attachments: [],
        parameters: [],
        links: [],
      }),
    ),
  );
  return out;
}

describe("the site reports", () => {
  test("are built one after another in one Allure process, each with its own tests and history", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dcnv-reports-"));
    const gen = new ReportGenerator();
    try {
      await Promise.all([
        gen.generate(results(dir, "dcn0", ["1. stores"]), join(dir, "dcn0", "report"), "dcn-verify dcn0 r1", {
          historyFile: join(dir, "history", "dcn0.jsonl"),
        }),
        gen.generate(results(dir, "dcn1", ["3. copy", "4. boot"]), join(dir, "dcn1", "report"), "dcn-verify dcn1 r1", {
          historyFile: join(dir, "history", "dcn1.jsonl"),
        }),
      ]);
    } finally {
      await gen.close();
    }
    const summary = (site: string) => JSON.parse(readFileSync(join(dir, site, "report", "summary.json"), "utf8"));
    expect(summary("dcn0")).toMatchObject({ name: "dcn-verify dcn0 r1", stats: { total: 1, passed: 1 } });
    expect(summary("dcn1")).toMatchObject({ name: "dcn-verify dcn1 r1", stats: { total: 2, passed: 2 } });
    expect(existsSync(join(dir, "dcn0", "report", "index.html"))).toBe(true);
    const history = JSON.parse(
      readFileSync(join(dir, "history", "dcn1.jsonl"), "utf8")
        .trim()
        .split("\n")
        .at(-1)!,
    );
    expect(history.name).toBe("dcn-verify dcn1 r1");
    // NOTE: Allure keeps a run's history entries in the order its reader met the result files, which is not theirs.
    expect(
      Object.values(history.testResults as Record<string, { name: string }>)
        .map((t) => t.name)
        .sort(),
    ).toEqual(["3. copy", "4. boot"]);
  });

  test("a report not written within the timeout fails naming it, and the reports queued behind it are built", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dcnv-reports-"));
    // A stand-in for the Allure process that builds its reports in turn and never finishes one named "hang".
    const script = join(dir, "stuck.mjs");
    writeFileSync(
      script,
      `let queue = Promise.resolve();
       process.on("message", (m) => {
         queue = queue.then(() => (m.name.includes("hang") ? new Promise(() => {}) : process.send({ id: m.id, ok: true })));
       });
       process.on("disconnect", () => process.exit(0));`,
    );
    const gen = new ReportGenerator(1000, script);
    const out = (site: string) => join(dir, site, "report");
    mkdirSync(join(dir, "dcn0"));
    mkdirSync(join(dir, "dcn1"));
    const [hung, next] = await Promise.allSettled([
      gen.generate(join(dir, "dcn0"), out("dcn0"), "dcn-verify dcn0 hang"),
      gen.generate(join(dir, "dcn1"), out("dcn1"), "dcn-verify dcn1 r2"),
    ]);
    await gen.close();
    expect(hung).toMatchObject({
      status: "rejected",
      reason: new Error(
        "allure generate for dcn-verify dcn0 hang failed: the Allure process was stopped: it had not written the report dcn-verify dcn0 hang after 1 s",
      ),
    });
    expect(next.status).toBe("fulfilled");
  });
});
