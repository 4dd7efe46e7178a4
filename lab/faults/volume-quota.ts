import type { LabAdmin } from "../os-admin.ts";
import type { FaultDef } from "./context.ts";

/** The admin project's quota of volumes of the site's volume type set to 0; heal sets it unlimited again. */
export const volumeQuota: FaultDef = {
  apply: (c) => setTypeQuota(c.admin, c.site, 0),
  heal: async (c) => void (await setTypeQuota(c.admin, c.site, -1)),
};

/** The admin project's quota of volumes of the site's volume type (-1: unlimited). */
async function setTypeQuota(admin: LabAdmin, site: string, volumes: number): Promise<void> {
  const cinder = await admin.endpoint("volumev3");
  await admin.expect([200], "PUT", `${cinder}/os-quota-sets/${await admin.projectId()}`, { quota_set: { [`volumes_${site}`]: volumes } });
}
