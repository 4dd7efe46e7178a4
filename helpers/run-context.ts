import { mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCephProbe, type CephProbe } from "./ceph/probe.ts";
import { openClients, type Clients } from "./clients/index.ts";
import { loadConfig, type Config, type Site } from "./config.ts";
import { ResourceJournal, ResourceTracker } from "./resources.ts";
import { timing } from "./waiters.ts";
import type { KnownIssue } from "./config-schema.ts";
import type { Tier } from "../suites/catalog.ts";

export const SUITE_GROUPS = ["procedure", "multistore", "rules", "conformance"] as const;
export type SuiteGroup = (typeof SUITE_GROUPS)[number];

export interface RunInfo {
  runId: string;
  runDir: string;
  configPath: string;
  /** The central site first, then the edge sites to run. */
  sites: string[];
  suites: SuiteGroup[];
  /** The highest tier the run may execute. */
  tier: Tier;
  /** The config's known issues, for the tests to label themselves. */
  knownIssues: KnownIssue[];
  startedAt: string;
  testTimeoutMs: number;
  /** The run's image server for web-download: files written to dir are at <baseUrl>/<name>. */
  web?: { baseUrl: string; dir: string };
}

export const RUN_DIR_ENV = "DCN_VERIFY_RUN_DIR";

/** Scratch space for image files, outside reports/; the run removes it at its end. */
export function runWorkDir(runId: string): string {
  return join(tmpdir(), `dcn-verify-${runId}`);
}

export function readRunInfo(runDir = process.env[RUN_DIR_ENV]): RunInfo {
  if (!runDir) throw new Error(`${RUN_DIR_ENV} is not set: the suites run under 'dcn-verify run'`);
  return JSON.parse(readFileSync(join(runDir, "run.json"), "utf8")) as RunInfo;
}

export interface SiteContext {
  run: RunInfo;
  config: Config;
  site: Site;
  central: Site;
  clients: Clients;
  tracker: ResourceTracker;
  probes: Map<string, CephProbe>;
  probe(site: Site): CephProbe;
  /** `<prefix>-<run id>-<site>-<what>`: every resource of the run carries the run id. */
  name(what: string): string;
  workDir: string;
}

export async function openSiteContext(siteName: string): Promise<SiteContext> {
  const run = readRunInfo();
  const config = await loadConfig(run.configPath);
  const all = [config.central, ...config.edges];
  const site = all.find((s) => s.name === siteName);
  if (!site) throw new Error(`site '${siteName}' is not in ${run.configPath} (sites: ${all.map((s) => s.name).join(", ")})`);
  const clients = await openClients(config);
  const journal = new ResourceJournal(join(run.runDir, "resources.jsonl"));
  const tracker = new ResourceTracker(() => clients, timing(config.timeouts, "deletion"), journal);
  const probes = new Map<string, CephProbe>();
  const workDir = runWorkDir(run.runId);
  mkdirSync(workDir, { recursive: true, mode: 0o700 });
  return {
    run, config, site, central: config.central, clients, tracker, probes, workDir,
    probe(s: Site) {
      let p = probes.get(s.name);
      if (!p) {
        p = createCephProbe(s, { timeoutMs: config.timeouts.request * 1000 });
        probes.set(s.name, p);
      }
      return p;
    },
    name: (what: string) => `${config.naming.prefix}-${run.runId}-${site.name}-${what}`,
  };
}
