import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import axios from "axios";
import { execa } from "execa";
import { beforeAll, describe, expect, test } from "vitest";
import { createCephProbe } from "../../helpers/ceph/probe.ts";
import { openClients } from "../../helpers/clients/index.ts";
import { loadConfig } from "../../helpers/config/load.ts";
import { reportResults } from "../../helpers/ops/reports/fleet.ts";
import type { RunInfo } from "../../helpers/harness/model.ts";
import { runWorkDir } from "../../helpers/ops/pipeline/prepare.ts";
import { allSecrets, loadOrCreateSecrets, paths } from "../../lab/state.ts";
import { cli, type HarnessRun, testOf, typedRun } from "./testing.ts";

let run: HarnessRun;

// The run an operator types first: `dcn-verify run`, no options (tier standard, every suite, every site).
beforeAll(async () => {
  run = await typedRun();
}, 1200000);

async function renderedDom(url: string): Promise<string> {
  const r = await execa(
    "chromium",
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      `--user-data-dir=${mkdtempSync(join(tmpdir(), "dcnv-chromium-"))}`,
      "--virtual-time-budget=15000",
      "--dump-dom",
      url,
    ],
    { reject: false, timeout: 120000 },
  );
  return r.stdout;
}

function unescapeHtml(html: string): string {
  return html
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");
}

describe("dcn-verify run on the healthy lab", () => {
  test("passes for central and every edge site and exits 0, every test its plan runs passed", async () => {
    expect(run.exitCode, run.output).toBe(0);
    const cfgSites = run.summary.sites.map((s) => s.site);
    expect(cfgSites[0]).toBe("central");
    const plan = JSON.parse((await cli(["plan", "--json"])).stdout) as {
      sites: { site: string; tests: { id: string; runs: boolean }[] }[];
    };
    for (const s of run.summary.sites) {
      expect(s.status, `${s.site}: ${JSON.stringify(s)}`).toBe("passed");
      const planned = plan.sites.find((p) => p.site === s.site)!.tests.filter((t) => t.runs);
      // central: steps 1-2, the multi-store tests and its conformance checks; each edge: steps 3-7, the DCN rules and its checks.
      expect(planned.length).toBeGreaterThan(s.site === "central" ? 20 : 15);
      expect(s.tests.map((t) => t.id).sort()).toEqual(planned.map((t) => t.id).sort());
      expect(s.tests.every((t) => t.status === "passed")).toBe(true);
    }
    expect(existsSync(join(run.runDir, "junit.xml"))).toBe(true);
  });

  test("leaves no image, volume, snapshot, server or rbd image of its run behind", async () => {
    const cfg = await loadConfig(paths().config);
    const c = await openClients(cfg);
    const runId = run.summary.runId;
    const mine = (n: string | null | undefined) => Boolean(n?.includes(runId));
    expect((await c.image.listImages()).filter((i) => mine(i.name))).toEqual([]);
    expect((await c.volume.listVolumes()).filter((v) => mine(v.name))).toEqual([]);
    expect((await c.volume.listSnapshots()).filter((s) => mine(s.name) || mine(s.description as string))).toEqual([]);
    expect((await c.compute.listServers()).filter((s) => mine(s.name))).toEqual([]);
    const journal = readFileSync(join(run.runDir, "resources.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const ids = new Set(journal.map((l: { id: string }) => l.id));
    expect(ids.size).toBeGreaterThan(10);
    for (const site of [cfg.central, ...cfg.edges]) {
      const probe = createCephProbe(site);
      for (const pool of ["images", "volumes"]) {
        const names = (await probe.rbdList(pool)).map((e) => e.image);
        expect(
          names.filter((n) => [...ids].some((id) => n.includes(id))),
          `${site.name}/${pool}`,
        ).toEqual([]);
      }
      await probe.close();
    }
  });

  test("stops its image server and removes its scratch files at the end of the run", async () => {
    const info = JSON.parse(readFileSync(join(run.runDir, "run.json"), "utf8")) as RunInfo;
    expect(info.web?.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{24}$/);
    const err = await axios.get(`${info.web!.baseUrl}/x`, { timeout: 5000, proxy: false }).then(
      () => undefined,
      (e: { code?: string }) => e.code,
    );
    expect(err).toBe("ECONNREFUSED");
    expect(existsSync(runWorkDir(info.runId))).toBe(false);
  });

  test("central's report carries each import's timeline and how often it polled", () => {
    const dir = join(run.runDir, "central", "allure-results");
    const timelines = readdirSync(dir)
      .filter((f) => f.endsWith("-attachment.json"))
      .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as { timeline?: unknown; secondsBetweenPolls?: { min: number } })
      .filter((a) => Array.isArray(a.timeline) && a.secondsBetweenPolls);
    expect(timelines.length).toBeGreaterThanOrEqual(6);
    const states = timelines.flatMap((t) => (t.timeline as { state: string }[]).map((p) => p.state));
    expect(states.some((st) => /^status=importing importing=\[[^\]]+\]/.test(st))).toBe(true);
    expect(states.some((st) => /^status=active importing=\[\] failed=\[\]/.test(st))).toBe(true);
  });

  test("its reports, logs and summary hold none of the lab's secrets", async () => {
    const secrets = allSecrets(loadOrCreateSecrets());
    const r = await execa("grep", ["-rlF", ...secrets.flatMap((s) => ["-e", s]), run.runDir], { reject: false });
    expect(r.stdout, "files holding a secret").toBe("");
    expect(run.output.includes(secrets[0])).toBe(false);
    const key = await execa("grep", ["-rlE", "AQ[A-Za-z0-9+/]{38}==", run.runDir], { reject: false });
    expect(key.stdout, "files holding a Ceph key").toBe("");
  });

  test("each site's Allure report opens from file:// in Chromium, no server, and shows that site's tests and their steps", async () => {
    // The sites' pages are rendered side by side: each is a Chromium start that waits on its page's scripts.
    await Promise.all(run.summary.sites.map((s) => siteReportShows(s)));
  });
});

async function siteReportShows(s: (typeof run.summary.sites)[number]): Promise<void> {
  const dir = join(run.runDir, s.site, "report");
  // A downloaded artifact: the report is one file, and the browser is given nothing but its file:// address.
  expect(readdirSync(dir).filter((f) => !f.endsWith(".json"))).toEqual(["index.html"]);
  const url = pathToFileURL(dir).href;
  const results = reportResults(dir);
  expect(results.map((r) => r.name).sort()).toEqual(s.tests.map((t) => t.title).sort());
  const index = await renderedDom(`${url}/index.html`);
  expect(index).toContain(`dcn-verify ${s.site} ${run.summary.runId}`);
  // One sample of the results, the one with the most steps, at the first edge: each page is a Chromium start.
  const stepsOf = (r: { steps?: { type?: string }[] }) => (r.steps ?? []).filter((x) => x.type === "step").length;
  const sampled = s.site === run.summary.sites.find((x) => x.site !== "central")!.site ? 1 : 0;
  for (const r of [...results].sort((a, b) => stepsOf(b) - stepsOf(a)).slice(0, sampled)) {
    const dom = unescapeHtml(await renderedDom(`${url}/index.html#${r.id}`));
    expect(dom, `${s.site}: ${r.name}`).toContain(r.name);
    for (const st of (r.steps ?? []).filter((x: { type?: string }) => x.type === "step").slice(0, 4))
      expect(dom, `${s.site}: step ${st.name}`).toContain(st.name);
  }
}

describe("the fleet page", () => {
  test("opens from file:// in Chromium and shows every site and test of the run, each cell linking into its site's report", async () => {
    const url = pathToFileURL(run.runDir).href;
    const dom = unescapeHtml(await renderedDom(`${url}/index.html`));
    expect(dom).toContain(`dcn-verify ${run.summary.runId}`);
    const cells = [...dom.matchAll(/data-site="([\w-]+)" data-test="([\w-]+)" data-verdict="([\w ]+)"><a href="([^"]+)"/g)];
    for (const s of run.summary.sites)
      for (const t of s.tests) {
        const c = cells.find((m) => m[1] === s.site && m[2] === t.id);
        expect(c, `${s.site} ${t.id}`).toBeDefined();
        const [file, result] = c![4]!.split("#");
        expect(existsSync(join(run.runDir, file!)), c![4]).toBe(true);
        // Each link names the test's own result in the site's report.
        expect(result, `${s.site} ${t.id}`).toBeTruthy();
      }
    expect(cells).toHaveLength(run.summary.sites.reduce((n, s) => n + s.tests.length, 0));
    // One link followed in Chromium: the site's report opens on that test.
    const sample = cells.find((m) => m[1] !== "central")!;
    const title = run.summary.sites.find((s) => s.site === sample[1])!.tests.find((t) => t.id === sample[2])!.title;
    expect(unescapeHtml(await renderedDom(`${url}/${sample[4]}`))).toContain(title);
  });
});

describe("dcn-verify run with no options (the first command an operator types)", () => {
  test("passes at every site on the healthy lab: the rules leave out what the run itself made", () => {
    const r = run;
    expect(r.exitCode, r.output).toBe(0);
    expect(r.summary.tier).toBe("standard");
    for (const s of r.summary.sites) {
      expect(s.status, `${s.site}: ${JSON.stringify(s.tests.filter((t) => t.status === "failed"))}`).toBe("passed");
      expect(s.errors).toEqual([]);
    }
    for (const edge of r.summary.sites.map((s) => s.site).filter((s) => s !== "central")) {
      for (const id of ["rule-1-same-names", "rule-2-edge-images-in-central", "rule-3-edge-images-raw", "rule-5-image-local-before-use"]) {
        expect(testOf(r, edge, id).status, `${edge} ${id}`).toBe("passed");
      }
      expect(testOf(r, edge, "conf-14-cinder-backup").status).toBe("passed");
      // The default tier verifies steps 1-7 (step 6 on the running server), and leaves nothing not verified.
      for (const id of [
        "dcn-3-copy-to-edge",
        "dcn-4-boot-from-volume",
        "dcn-5-rbd-parent",
        "dcn-6-cinder-snapshot",
        "dcn-7-back-to-central",
      ])
        expect(testOf(r, edge, id).status, `${edge} ${id}`).toBe("passed");
      expect(r.summary.sites.find((s) => s.site === edge)!.counts).toMatchObject({ notVerified: 0 });
      expect(r.output).toContain(`[${edge}] ✔ snapshot the root volume with force, the server running`);
      expect(r.output).toMatch(
        new RegExp(
          `\\[${edge}\\] ✔ the first \\d+ bytes of images/\\S+@snap on ${edge}'s cluster are the bytes the harness wrote[^\\n]*\\n(.*\\n)*` +
            `\\[${edge}\\] ✔ the first \\d+ bytes of images/\\S+@snap on central's cluster are the bytes the harness wrote \\(sha512\\), and zeros after them`,
        ),
      );
      // A volume pulled whole from central is what every cloud does: information, not a warning.
      expect(r.output).toMatch(new RegExp(`\\[${edge}\\] ℹ Cinder pulled image \\S+ whole from central`));
      expect(testOf(r, edge, "rule-5-image-local-before-use").warnings ?? []).toEqual([]);
    }
    expect(r.output).toMatch(/\[central\] WARNING conf-9-glance-locations-exposure: security: a non-admin user sees/);
    expect(r.summary.sites.find((s) => s.site === "central")!.counts).toMatchObject({ notVerified: 0 });
  });
});
