import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type CephProbe, CephTimeoutError, createCephProbe, hasCephAccess, NoCephAccessError, noneReason } from "../ceph/probe.ts";
import { type Clients, openSiteClients } from "../clients/index.ts";
import { allSites } from "../config/load.ts";
import type { Config, Site } from "../config/schema.ts";
import { timing } from "../config/timing.ts";
import { ResourceFactory } from "./factory.ts";
import type { RunInfo } from "./model.ts";
import { isUnreachable, type Reach, recheckReach, SiteUnreachableError, type Unreachable } from "./reach.ts";
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
  /**
   * A site's Ceph probe. At a site whose Ceph did not answer, or answered as another cluster, every
   * call fails at once with SiteUnreachableError. A call that times out has the site's reach checked again
   * (`ceph fsid`, bounded by timeouts.cephReach): only when that fails too is the site tripped the same way.
   * At a site the runner has no access to (transport none) every call fails with NoCephAccessError,
   * which makes the test not verified.
   */
  probe(site: Site): CephProbe;
  /** Whether the config gives the runner a way to this site's Ceph (false for transport none). */
  hasCeph(site: Site): boolean;
  /** Fails at once, as infrastructure, when a store belongs to a site whose Ceph cannot be reached: Glance would hang on it. */
  requireReachable(stores: string[], before: string): void;
  /** Why a site's Ceph cannot be read now (before the run, or since a call timed out and its reach check failed); undefined when it can. */
  unreachable(site: string): Unreachable | undefined;
  /**
   * The fsid of a site's own cluster, which its Ceph evidence and its locations must name: pinned in
   * the config, or else the one the run found before its first test (and no other site reached).
   */
  clusterOf(site: Site): string;
  /** `<prefix>-<run id>-<site>-<what>`: every resource of the run carries the run id. */
  name(what: string): string;
  workDir: string;
}

/** A site's context from the run handed to the sites' worker: no config file is read again. */
export async function openSiteContext(run: RunInfo, siteName: string): Promise<SiteContext> {
  const { config } = run;
  const sites = allSites(config);
  const site = sites.find((s) => s.name === siteName);
  if (!site) throw new Error(`site '${siteName}' is not in ${run.configPath} (sites: ${sites.map((s) => s.name).join(", ")})`);
  const clients = await openSiteClients(config, site);
  const journal = new ResourceJournal(join(run.runDir, "resources.jsonl"));
  const tracker = new ResourceTracker(() => clients, timing(config.timeouts, "deletion"), journal);
  const probes = new Map<string, CephProbe>();
  const { unreachable, recheck } = siteBreakers(config, run.reach);
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
    unreachable,
    hasCeph: hasCephAccess,
    requireReachable(stores, before) {
      for (const store of stores) {
        const owner = sites.find((s) => s.store === store);
        const down = owner && unreachable(owner.name);
        if (down) throw new SiteUnreachableError(down, before);
      }
    },
    clusterOf: (s: Site) => {
      if (s.ceph.fsid) return s.ceph.fsid;
      const r = run.reach?.[s.name];
      if (r?.state === "ok") return r.fsid;
      if (!hasCephAccess(s)) throw new NoCephAccessError(s.name, noneReason(s));
      throw new SiteUnreachableError(
        isUnreachable(r)
          ? r
          : { site: s.name, state: "unreachable", reason: "the run did not check its Ceph, and no fsid is pinned for it", ms: 0 },
        "its cluster identity was needed",
      );
    },
    probe(s: Site) {
      let p = probes.get(s.name);
      if (!p) {
        p = guarded(createCephProbe(s, { timeoutMs: config.timeouts.request * 1000 }), {
          blocked: () => unreachable(s.name),
          timedOut: (e) => recheck(s, e),
        });
        probes.set(s.name, p);
      }
      return p;
    },
  };
}

/**
 * Each site's breaker: open when the run's reach check found the site unreachable, or when a command timed out and the
 * site's reach, asked again (`ceph fsid`, bounded by timeouts.cephReach, one check at a time per site), failed too.
 */
export function siteBreakers(config: Config, reach: Reach | undefined) {
  const tripped = new Map<string, Unreachable>();
  const rechecks = new Map<string, Promise<void>>();
  const unreachable = (name: string): Unreachable | undefined => {
    const r = reach?.[name];
    return isUnreachable(r) ? r : tripped.get(name);
  };
  const recheck = (s: Site, e: CephTimeoutError): Promise<void> => {
    let pending = rechecks.get(s.name);
    if (!pending) {
      const r0 = reach?.[s.name];
      const known = s.ceph.fsid ?? (r0?.state === "ok" ? r0.fsid : undefined);
      pending = recheckReach(config, s, known)
        .then((r) => {
          if (isUnreachable(r) && !unreachable(s.name)) tripped.set(s.name, { ...r, reason: `${e.message}; asked again, ${r.reason}` });
        })
        .finally(() => rechecks.delete(s.name));
      rechecks.set(s.name, pending);
    }
    return pending;
  };
  return { unreachable, recheck };
}

const UNGUARDED = new Set<PropertyKey>(["site", "cluster", "transport", "close", Symbol.asyncDispose]);

/**
 * The probe, behind the site's circuit breaker: a call at a tripped site fails at once; a call that times out waits
 * for the site's reach check (which trips the site when it fails) and then fails as itself.
 */
export function guarded(probe: CephProbe, o: { blocked: () => Unreachable | undefined; timedOut: (e: CephTimeoutError) => Promise<void> }) {
  return new Proxy(probe, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (UNGUARDED.has(key) || typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        const down = o.blocked();
        if (down) throw new SiteUnreachableError(down, `\`${String(key)}\` on its Ceph`);
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } catch (e) {
          if (e instanceof CephTimeoutError) await o.timedOut(e);
          throw e;
        }
      };
    },
  });
}
