import { dcnSiteNames, guideShape } from "./shared.ts";
import type { LabProfileDef } from "./types.ts";

/**
 * kolla-ansible with one Ceph cluster per AZ (doc/source/reference/storage/external-ceph-guide.rst): stores and
 * Cinder backends named as glance_ceph_backends / cinder_ceph_backends name them (<cluster>-rbd), not after the
 * AZ; users glance, cinder and cinder-backup; the deploy host keeps each cluster's conf and keyrings under
 * /etc/kolla/config/<service>/; cinder-backup writes to one cluster, central's.
 */
export const kolla: LabProfileDef = {
  summary:
    "kolla-ansible with a Ceph cluster per AZ: stores and backends <cluster>-rbd, the guide's users, keyrings under /etc/kolla/config",
  siteNames: dcnSiteNames,
  store: (site) => `${site}-rbd`,
  shape: (site, sites) => guideShape(site, sites, "central"),
  glance: { user: "glance", importMethods: ["glance-direct", "web-download", "copy-image"], stockFilter: true, edgeApis: false },
  cinder: { user: "cinder", backupUser: "cinder-backup", backupSites: (sites) => sites.slice(0, 1) },
  quotas: "default",
  access: { kind: "kolla" },
  cloudEntry: "kolla-admin",
  example: "kolla-multi-ceph.yaml",
  faults: [],
};
