import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { expect, test } from "vitest";
import { openClients } from "../../helpers/clients/index.ts";
import { loadConfig } from "../../helpers/config/load.ts";
import type { RunSummary } from "../../helpers/harness/model.ts";
import { paths, REPO_ROOT } from "../../lab/state.ts";

test("SIGINT during a run stops it, cleans up what it created, writes its reports and exits non-zero", async () => {
  const reports = mkdtempSync(join(tmpdir(), "dcnv-reports-"));
  const child = execa(
    process.execPath,
    [join(REPO_ROOT, "bin", "dcn-verify.mjs"), "run", "--reports", reports, "--sites", "dcn0", "--suites", "procedure"],
    { reject: false, all: true, timeout: 900000 },
  );
  let sent = false;
  child.all!.on("data", (d: Buffer) => {
    if (!sent && /\[dcn0\] ✔ wait until the server is ACTIVE/.test(d.toString())) {
      sent = true;
      child.kill("SIGINT");
    }
  });
  const r = await child;
  expect(sent, r.all).toBe(true);
  expect(r.exitCode).not.toBe(0);
  expect(r.all).toContain("SIGINT: starting no new steps");
  const summary = JSON.parse(readFileSync(join(reports, "latest", "summary.json"), "utf8")) as RunSummary;
  expect(summary.interrupted).toBe(true);
  for (const site of ["central", "dcn0"]) expect(existsSync(join(reports, "latest", site, "report", "index.html")), site).toBe(true);
  const dcn0 = summary.sites.find((s) => s.site === "dcn0")!;
  expect(dcn0.tests.find((t) => t.id === "dcn-7-back-to-central")?.status ?? "skipped").not.toBe("passed");
  const c = await openClients(await loadConfig(paths().config));
  const mine = (n: string | null | undefined) => Boolean(n?.includes(summary.runId));
  expect((await c.image.listImages()).filter((i) => mine(i.name))).toEqual([]);
  expect((await c.volume.listVolumes()).filter((v) => mine(v.name))).toEqual([]);
  expect((await c.volume.listSnapshots()).filter((s) => mine(s.name))).toEqual([]);
  expect((await c.compute.listServers()).filter((s) => mine(s.name))).toEqual([]);
});
