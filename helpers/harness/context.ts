import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type CephProbe, createCephProbe } from "../ceph/probe.ts";
import { type Clients, openClients } from "../clients/index.ts";
import { allSites } from "../config/load.ts";
import type { Config, Site } from "../config/schema.ts";
import { timing } from "../config/timing.ts";
import { ResourceFactory } from "./factory.ts";
import type { RunInfo } from "./model.ts";
import { resourceName } from "./naming.ts";
import { ResourceJournal, ResourceTracker } from "./resources.ts";

export interface SiteContext {
  run: RunInfo;
  config: Config;
  site: Site;
  central: Site;
  /** Every configured site, central first. */
  sites: Site[];
  clients: Clients;
  tracker: ResourceTracker;
  /** Creates the run's resources: named, marked, tracked for cleanup and waited for, in one call. */
  create: ResourceFactory;
  probes: Map<string, CephProbe>;
  probe(site: Site): CephProbe;
  /** `<prefix>-<run id>-<site>-<what>`: every resource of the run carries the run id. */
  name(what: string): string;
  workDir: string;
}

/** A site's context from the run handed to its worker: no config file is read again. */
export async function openSiteContext(run: RunInfo, siteName: string): Promise<SiteContext> {
  const { config } = run;
  const sites = allSites(config);
  const site = sites.find((s) => s.name === siteName);
  if (!site) throw new Error(`site '${siteName}' is not in ${run.configPath} (sites: ${sites.map((s) => s.name).join(", ")})`);
  const clients = await openClients(config);
  const journal = new ResourceJournal(join(run.runDir, "resources.jsonl"));
  const tracker = new ResourceTracker(() => clients, timing(config.timeouts, "deletion"), journal);
  const probes = new Map<string, CephProbe>();
  mkdirSync(run.workDir, { recursive: true, mode: 0o700 });
  const base = {
    run,
    config,
    site,
    clients,
    tracker,
    name: (what: string) => resourceName(config.naming.prefix, run.runId, site.name, what),
  };
  return {
    ...base,
    central: config.central,
    sites,
    probes,
    workDir: run.workDir,
    create: new ResourceFactory(base),
    probe(s: Site) {
      let p = probes.get(s.name);
      if (!p) {
        p = createCephProbe(s, { timeoutMs: config.timeouts.request * 1000 });
        probes.set(s.name, p);
      }
      return p;
    },
  };
}
