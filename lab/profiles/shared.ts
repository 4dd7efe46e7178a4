import { CEPH_CLIENTS, type SiteShape } from "../ceph.ts";

/** The guide's pool names; central alone has a backups pool where cinder-backup writes only there. */
export function pools(site: string, sites: string[], backupsAt: "every" | "central"): SiteShape["pools"] {
  return {
    images: "images",
    volumes: "volumes",
    vms: "vms",
    ...(backupsAt === "every" || site === sites[0] ? { backups: "backups" } : {}),
  };
}

/** The guide's three cephx users, with the backups grant only where the site has a backups pool. */
export function guideShape(site: string, sites: string[], backupsAt: "every" | "central"): SiteShape {
  const p = pools(site, sites, backupsAt);
  const users = Object.fromEntries(Object.entries(CEPH_CLIENTS).filter(([u]) => u !== "client.cinder-backup" || p.backups));
  return { pools: p, users };
}

/** TripleO's and RHOSO's one cephx user for Glance, Cinder, cinder-backup and Nova: 'profile rbd' on every pool of the site. */
export const OPENSTACK_CLIENT = "client.openstack";
/** Its name as the services' configs give it (rbd_store_user, rbd_user). */
export const OPENSTACK_USER = OPENSTACK_CLIENT.slice("client.".length);

/** TripleO's and RHOSO's Cinder: client.openstack for volumes and backups, cinder-backup at central only. */
export const OPENSTACK_CINDER = { user: OPENSTACK_USER, backupUser: OPENSTACK_USER, backupSites: (sites: string[]) => sites.slice(0, 1) };

export function openstackShape(site: string, sites: string[]): SiteShape {
  const p = pools(site, sites, "central");
  const osd = Object.values(p)
    .map((pool) => `profile rbd pool=${pool}`)
    .join(", ");
  return { pools: p, users: { [OPENSTACK_CLIENT]: ["mon", "profile rbd", "osd", osd] } };
}

/** central, dcn0, dcn1, …: TripleO's stack names, which its DCN guide gives each site's AZ and Ceph cluster. */
export const dcnSiteNames = (edges: number) => ["central", ...Array.from({ length: edges }, (_, i) => `dcn${i}`)];
