import { dcnSiteNames, OPENSTACK_CINDER, OPENSTACK_USER, openstackShape } from "./shared.ts";
import type { LabProfileDef } from "./types.ts";

/**
 * Red Hat OpenStack 17.1 DCN (TripleO; tripleo-docs features/distributed_multibackend_storage.rst): one stack and
 * cephadm cluster per site, named alike; client.openstack for every service; Glance's import methods
 * web-download and copy-image; cinder-backup at central only, writing to central's backups pool; stock quotas.
 */
export const osp17: LabProfileDef = {
  summary: "Red Hat OpenStack 17.1 DCN: cephadm shell over ssh (sudo cephadm only), client.openstack, no glance-direct, backups at central",
  siteNames: dcnSiteNames,
  store: (site) => site,
  shape: openstackShape,
  glance: {
    user: OPENSTACK_USER,
    importMethods: ["web-download", "copy-image"],
    stockFilter: true,
    edgeApis: false,
  },
  cinder: OPENSTACK_CINDER,
  quotas: "default",
  access: { kind: "cephadm", sshUser: "tripleo-admin" },
  cloudEntry: "overcloud",
  example: "osp17-dcn.yaml",
  faults: ["cephadm-wrong-cluster", "openstack-caps-no-volumes"],
};
