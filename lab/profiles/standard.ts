import { CEPH_CLIENTS } from "../ceph.ts";
import { dcnSiteNames } from "./shared.ts";
import type { LabProfileDef } from "./types.ts";

/** The guide's shape: one cephx user per service, every site with a backups pool, Ceph behind a Docker API. */
export const standard: LabProfileDef = {
  summary: "the Ceph-with-OpenStack guide's shape: a cephx user per service, Ceph in containers named ceph-mon-<site>",
  siteNames: dcnSiteNames,
  store: (site) => site,
  shape: () => ({ pools: { images: "images", volumes: "volumes", vms: "vms", backups: "backups" }, users: CEPH_CLIENTS }),
  glance: { user: "glance", importMethods: ["glance-direct", "web-download", "copy-image"], stockFilter: false, edgeApis: false },
  cinder: { user: "cinder", backupUser: "cinder-backup", backupSites: (sites) => sites },
  quotas: "lifted",
  access: { kind: "container" },
  cloudEntry: "dcn-lab",
  faults: ["store-write-denied", "ceph-caps-broad", "pools-renamed", "probe-misdirected"],
};
