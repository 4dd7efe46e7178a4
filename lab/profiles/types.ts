import type { SiteShape } from "../ceph.ts";
import type { FaultKind } from "../state.ts";

/** How the harness the lab configures reaches each site's Ceph. */
export type CephAccess =
  /** The Docker Engine API of lab/docker-shim.ts, one socket per site (ceph-ansible's container names). */
  | { kind: "container" }
  /** ssh to a Ceph host as an unprivileged user whose sudo allows only cephadm; lab/cephadm.ts's `cephadm shell`. */
  | { kind: "cephadm"; sshUser: string }
  /** rbd and ceph on the runner, with the kolla deploy host's copies of each site's conf and cinder keyring. */
  | { kind: "kolla" };

/**
 * What makes the lab look like one distribution wherever dcn-verify touches it. One file per profile under
 * lab/profiles/, registered in index.ts.
 */
export interface LabProfileDef {
  /** One line for the lab's usage (`dcn-verify lab`). */
  summary: string;
  /** The sites, central first: the names of their AZs and Ceph clusters (`--cluster`, /etc/ceph/<name>.conf). */
  siteNames(edges: number): string[];
  /** The Glance store and Cinder backend of a site. */
  store(site: string): string;
  /** A site's pools and cephx users. */
  shape(site: string, sites: string[]): SiteShape;
  glance: {
    /** The cephx user of every store. */
    user: string;
    importMethods: readonly string[];
    /** Glance's stock [import_filtering_opts] (allowed_ports 80 and 443), or any port allowed. */
    stockFilter: boolean;
    /** A Glance API per edge site, not in Keystone, with its own store as default and central's beside it (RHOSO 18). */
    edgeApis: boolean;
  };
  cinder: {
    user: string;
    backupUser: string;
    /** Where cinder-backup runs (it always writes to central's cluster). */ backupSites(sites: string[]): string[];
  };
  /** lifted: the admin project's quotas are unlimited; default: Cinder's and Nova's stock quotas. */
  quotas: "lifted" | "default";
  access: CephAccess;
  /** The clouds.yaml entry of the admin credential, as the distribution names it. */
  cloudEntry: string;
  /** The example under examples/ that runs against this profile, with the lab's overlay (hosts, ports, paths, fsids). */
  example?: string;
  /** The faults only this profile has. */
  faults: readonly FaultKind[];
}
