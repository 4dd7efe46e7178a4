import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { paths } from "../../lab/state.ts";
import { cli, withFault } from "./testing.ts";

/** The procedure at dcn0 alone: two volumes of type dcn0, two snapshots, one server. */
const ONE_EDGE = ["--sites", "dcn0", "--suites", "procedure"];

describe("preflight: what a write run needs, checked before it creates anything", () => {
  test("a per-type volume quota of 0 at dcn0: doctor and run name the quota and the site, and the run creates nothing", async () => {
    const reports = mkdtempSync(join(tmpdir(), "dcnv-preflight-"));
    const [doctor, run] = await withFault("dcn0", "volume-quota", async () => [
      await cli(["doctor", "--config", paths().config, ...ONE_EDGE], { timeoutMs: 60000 }),
      await cli(["run", "--config", paths().config, ...ONE_EDGE, "--reports", reports], { timeoutMs: 60000 }),
    ]);
    expect(doctor.exitCode, doctor.all).toBe(1);
    expect(doctor.stdout).toMatch(/^FAIL +quota Cinder volumes_dcn0 +need 2 \(dcn0: 2\), free 0 of 0 \(0 in use, 0 reserved\)$/m);
    expect(doctor.stdout).toMatch(/hint: .*openstack quota set --volume-type dcn0 --volumes 2 admin/);
    expect(doctor.stdout).toMatch(/^OK +quota Cinder volumes +need 2 \(dcn0: 2\)/m);

    expect(run.exitCode, run.all).toBe(2);
    expect(run.stderr).toMatch(/preflight: FAIL +quota Cinder volumes_dcn0 +need 2 \(dcn0: 2\), free 0 of 0/);
    expect(run.stderr).toContain("the run created nothing");
    const [runId, ...more] = readdirSync(reports);
    expect(more).toEqual([]);
    expect(existsSync(join(reports, runId!, "run.json"))).toBe(true);
    const journal = join(reports, runId!, "resources.jsonl");
    expect(existsSync(journal) ? readFileSync(journal, "utf8") : "").toBe("");
    expect(existsSync(join(reports, runId!, "summary.json"))).toBe(false);
  });

  test("doctor names allowed_ports for the lab's web-download server on its random port, as a warning", async () => {
    const doctor = await cli(["doctor", "--config", paths().config, "--sites", "dcn0", "--suites", "multistore"], { timeoutMs: 60000 });
    expect(doctor.exitCode, doctor.all).toBe(0);
    expect(doctor.stdout).toMatch(
      /^WARN +web-download +http:\/\/127\.0\.0\.1:<random port> \(webDownload\.bind\/port\): port random is not in stock Glance's \[import_filtering_opts\] allowed_ports = \[80, 443\]/m,
    );
    expect(doctor.stdout).toMatch(
      /hint: add the port to \[import_filtering_opts\] allowed_ports in glance-api\.conf .*webDownload\.port: 80/,
    );
  });
});
