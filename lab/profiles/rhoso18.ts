import { OPENSTACK_CINDER, OPENSTACK_USER, openstackShape } from "./shared.ts";
import type { LabProfileDef } from "./types.ts";

/**
 * Red Hat OpenStack Services on OpenShift 18.0 DCN (openstack-k8s-operators/architecture examples/dt/dcn): AZs,
 * stores and clusters az0, az1, …; user openstack; a Glance API per edge (type edge, not in Keystone) whose
 * backends are az0 and its own, its own the default, and which that edge's Cinder uses; one cinderBackup at az0.
 */
export const rhoso18: LabProfileDef = {
  summary: "RHOSO 18.0 DCN: sites az0, az1…, a Glance API per edge used by its Cinder, cephadm shell over ssh to EDPM nodes",
  siteNames: (edges) => Array.from({ length: edges + 1 }, (_, i) => `az${i}`),
  store: (site) => site,
  shape: openstackShape,
  glance: {
    user: OPENSTACK_USER,
    importMethods: ["web-download", "glance-direct", "copy-image"],
    stockFilter: true,
    edgeApis: true,
  },
  cinder: OPENSTACK_CINDER,
  quotas: "default",
  access: { kind: "cephadm", sshUser: "cloud-admin" },
  cloudEntry: "default",
  example: "rhoso18-dcn.yaml",
  faults: ["cephadm-wrong-cluster", "openstack-caps-no-volumes", "edge-glance-default-central"],
};
