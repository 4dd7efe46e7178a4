import type { Config, PoolRole, Site } from "./schema.ts";

/** A site's pool names by role; backups is absent where the site has no backups pool. */
export type SitePools = Record<Exclude<PoolRole, "backups">, string> & { backups?: string };

/** The site's own pool names (site.ceph.pools) where set, the cloud-wide ones otherwise. */
export function sitePools(cfg: Pick<Config, "rbd" | "conformance">, site: { ceph: Pick<Site["ceph"], "pools"> }): SitePools {
  const own = site.ceph.pools ?? {};
  const backups = own.backups === false ? undefined : (own.backups ?? cfg.conformance.backupsPool);
  return {
    images: own.images ?? cfg.rbd.imagesPool,
    volumes: own.volumes ?? cfg.rbd.volumesPool,
    vms: own.vms ?? cfg.conformance.vmsPool,
    ...(backups ? { backups } : {}),
  };
}

/** Where a site's backups land, as the config names it. */
export type BackupsTarget =
  /** conformance.backupsSite: false. */
  | { kind: "none"; reason: string }
  /** The named site's backups pool (conformance.backupsSite), or the site's own; pool is absent where that site has none. */
  | { kind: "pool"; site: Site; pool?: string; source: string };

/** The backups pool a site's backups are meant to land in: conformance.backupsSite's, the site's own, or none at all. */
export function backupsTarget(cfg: Pick<Config, "central" | "edges" | "rbd" | "conformance">, site: Site): BackupsTarget {
  const named = cfg.conformance.backupsSite;
  if (named === false) return { kind: "none", reason: "the cloud takes no backups (conformance.backupsSite: false)" };
  const at = (named && [cfg.central, ...cfg.edges].find((s) => s.name === named)) || site;
  return { kind: "pool", site: at, pool: sitePools(cfg, at).backups, source: named ? "conformance.backupsSite" : `${site.name}'s own` };
}
