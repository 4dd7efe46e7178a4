import { setUserCaps } from "../ceph.ts";
import { LabError } from "../procs.ts";
import { profileDef } from "../profiles/index.ts";
import { OPENSTACK_CLIENT } from "../profiles/shared.ts";
import type { FaultContext, FaultDef } from "./context.ts";

/** client.openstack's capabilities at the site leave out the volumes pool (profiles osp17 and rhoso18). */
export const openstackCapsNoVolumes: FaultDef = {
  apply: (c) => setUserCaps(c.site, OPENSTACK_CLIENT, openstackCaps(c), "volumes"),
  heal: async (c) => void (await setUserCaps(c.site, OPENSTACK_CLIENT, openstackCaps(c))),
};

function openstackCaps(c: FaultContext): string[] {
  const caps = profileDef(c.state.profile).shape(c.site, c.sites).users[OPENSTACK_CLIENT];
  if (!caps) throw new LabError(`profile ${c.state.profile ?? "standard"} has no ${OPENSTACK_CLIENT} at ${c.site}`);
  return caps;
}
