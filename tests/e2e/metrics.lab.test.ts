import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import axios from "axios";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { stringify } from "yaml";
import { setTimeout as sleep } from "node:timers/promises";
import { paths } from "../../lab/state.ts";
import { runHarness, testOf, withFault } from "./testing.ts";

// A real Prometheus scraping a real Pushgateway (Debian's prometheus and prometheus-pushgateway), as the monitoring
// examples set them up (examples/prometheus): the run pushes, Prometheus reads, PromQL answers.
const procs: ChildProcess[] = [];
let pushgateway: string;
let prometheus: string;

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

async function start(cmd: string, args: string[], ready: string): Promise<void> {
  const p = spawn(cmd, args, { stdio: "ignore" });
  procs.push(p);
  const t0 = Date.now();
  for (;;) {
    if (p.exitCode !== null) throw new Error(`${cmd} exited with ${p.exitCode}`);
    const ok = await axios.get(ready, { timeout: 2000, proxy: false }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    if (Date.now() - t0 > 30_000) throw new Error(`${cmd} did not answer ${ready} within 30 s`);
    await sleep(200);
  }
}

/** The value of an instant PromQL query's only sample, waiting (at most 30 s) for the scrape that brings it. */
async function queryOne(promql: string): Promise<string> {
  const t0 = Date.now();
  let last: unknown;
  for (;;) {
    const r = await axios.get(`${prometheus}/api/v1/query`, { params: { query: promql }, proxy: false, timeout: 5000 });
    last = r.data.data.result;
    const result = r.data.data.result as { value: [number, string] }[];
    if (result.length === 1) return result[0]!.value[1];
    if (Date.now() - t0 > 30_000) throw new Error(`${promql}: ${JSON.stringify(last)} after 30 s`);
    await sleep(500);
  }
}

beforeAll(async () => {
  const dir = mkdtempSync(join(paths().root, "prometheus-test-"));
  const [pgPort, promPort] = await Promise.all([freePort(), freePort()]);
  pushgateway = `http://127.0.0.1:${pgPort}`;
  prometheus = `http://127.0.0.1:${promPort}`;
  writeFileSync(
    join(dir, "prometheus.yml"),
    stringify({
      global: { scrape_interval: "1s", evaluation_interval: "1s" },
      scrape_configs: [{ job_name: "pushgateway", honor_labels: true, static_configs: [{ targets: [`127.0.0.1:${pgPort}`] }] }],
    }),
  );
  await Promise.all([
    // NOTE: Debian's Pushgateway keeps its metrics in /var/lib/prometheus/pushgateway.data unless told otherwise: a
    // second run on one machine read the first's pushes back (CI at 5584f21).
    start(
      "prometheus-pushgateway",
      [`--web.listen-address=127.0.0.1:${pgPort}`, `--persistence.file=${join(dir, "pushgateway.data")}`],
      `${pushgateway}/-/ready`,
    ),
    start(
      "prometheus",
      [
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      `${prometheus}/-/ready`,
    ),
  ]);
}, 60_000);

afterAll(() => {
  for (const p of procs) p.kill("SIGTERM");
});

describe("Prometheus", () => {
  test("a run pushed to the Pushgateway: Prometheus reads 0 for the check a lab fault breaks at dcn0 and 1 for it at dcn1", async () => {
    const run = await withFault("dcn0", "az-mismatch", () =>
      runHarness(["--tests", "conf-6-nova-az", "--tier", "read-only", "--sites", "dcn0,dcn1", "--pushgateway", pushgateway]),
    );
    expect(run.exitCode, run.output).toBe(1);
    expect(testOf(run, "dcn0", "conf-6-nova-az").status).toBe("failed");
    expect(testOf(run, "dcn1", "conf-6-nova-az").status).toBe("passed");
    const check = (site: string) => `dcn_verify_check_success{job="dcn_verify",site="${site}",check="conf-6-nova-az"}`;
    expect(await queryOne(check("dcn0"))).toBe("0");
    expect(await queryOne(check("dcn1"))).toBe("1");
    expect(await queryOne(`dcn_verify_site_success{site="dcn0"}`)).toBe("0");
    expect(await queryOne(`dcn_verify_site_success{site="dcn1"}`)).toBe("1");
    // Grouped by job and site (central runs conf-6 too), with no instance label; dcn0 has no last success to show, dcn1 has this run's.
    const series = await axios.get(`${prometheus}/api/v1/series`, {
      params: { "match[]": 'dcn_verify_check_success{check="conf-6-nova-az"}' },
      proxy: false,
    });
    expect((series.data.data as Record<string, string>[]).map((s) => [s.site, s.instance ?? ""]).sort()).toEqual([
      ["central", ""],
      ["dcn0", ""],
      ["dcn1", ""],
    ]);
    expect(Number(await queryOne(`dcn_verify_last_success_timestamp_seconds{site="dcn1"}`))).toBeGreaterThan(Date.now() / 1000 - 600);
    const none = await axios.get(`${prometheus}/api/v1/query`, {
      params: { query: `dcn_verify_last_success_timestamp_seconds{site="dcn0"}` },
      proxy: false,
    });
    expect(none.data.data.result).toEqual([]);
  });
});
