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
