import type { LabAdmin } from "../os-admin.ts";
import { LabError, stopProcess, waitUntil } from "../procs.ts";
import { profileDef } from "../profiles/index.ts";
import { ensureVolumeTypes } from "../provision.ts";
import { cinderVolumeName, ensureCinder, renamedAz } from "../services/cinder.ts";
import { backend, type FaultContext, type FaultDef, volumeDown } from "./context.ts";

/** The site's backend in another AZ and its volume type unpinned: Cinder falls back to central's AZ. */
export const volumeAzFallback: FaultDef = {
  apply: async (c) => {
    await unpinVolumeType(c.admin, c.site);
    await restartCinderForAz(c);
    const zone = renamedAz(c.site);
    await waitUntil(`cinder-volume-${c.site}`, `cinder@${backend(c)} up in AZ ${zone}`, () => backendIn(c, zone), 90000);
  },
  heal: async (c) => {
    await ensureVolumeTypes(c.admin, [c.site], profileDef(c.state.profile).store);
    await restartCinderForAz(c);
    await waitUntil(`cinder-volume-${c.site}`, `cinder@${backend(c)} up in AZ ${c.site}`, () => backendIn(c, c.site), 90000);
    return undefined;
  },
};

/**
 * Restarts cinder-api and the site's cinder-volume with the state's faults: the volume-az-fallback fault lets the
 * API fall back to the default AZ, and gives the site's backend another AZ than the site's.
 */
async function restartCinderForAz(c: FaultContext): Promise<void> {
  await stopProcess(c.state, "cinder-api");
  await stopProcess(c.state, cinderVolumeName(c.site));
  await ensureCinder(c.state, c.secrets, c.sites, volumeDown(c));
}

/** The site's volume type without its backend and AZ (as a type shared by every site is): Cinder places it by AZ alone. */
async function unpinVolumeType(admin: LabAdmin, site: string): Promise<void> {
  const cinder = await admin.endpoint("volumev3");
  const types = (await admin.expect([200], "GET", `${cinder}/types`)).volume_types as { id: string; name: string }[];
  const type = types.find((t) => t.name === site);
  if (!type) throw new LabError(`no volume type ${site}`);
  for (const key of ["volume_backend_name", "RESKEY:availability_zones"])
    await admin.expect([200, 202, 404], "DELETE", `${cinder}/types/${type.id}/extra_specs/${encodeURIComponent(key)}`);
}

/** Whether Cinder lists the site's backend as up, in the given AZ. */
async function backendIn(c: FaultContext, zone: string): Promise<boolean> {
  const r = await c.admin.expect([200], "GET", `${await c.admin.endpoint("volumev3")}/os-services?binary=cinder-volume`);
  return (r.services as { host: string; state: string; zone: string }[]).some(
    (s) => s.host === `cinder@${backend(c)}` && s.state === "up" && s.zone === zone,
  );
}
