import type { LabAdmin } from "../os-admin.ts";
import { stopProcess, waitUntil } from "../procs.ts";
import type { FaultDef } from "./context.ts";

/** The site's cinder-backup stopped until Cinder reports it down; heal starts the missing ones once for the batch. */
export const backupDown: FaultDef = {
  refuse: (c) =>
    c.backupSites.includes(c.site) ? undefined : `no cinder-backup runs at ${c.site} in this profile (only at ${c.backupSites.join(", ")})`,
  apply: async (c) => {
    await stopProcess(c.state, `cinder-backup-${c.site}`);
    await waitUntil(`cinder-backup-${c.site}`, `Cinder reports backup-${c.site} down`, () => backupServiceDown(c.admin, c.site), 120000);
  },
  heal: async () => "start-backups",
};

/** Whether Cinder lists the site's cinder-backup service as down (after service_down_time without a report). */
async function backupServiceDown(admin: LabAdmin, site: string): Promise<boolean> {
  const r = await admin.expect([200], "GET", `${await admin.endpoint("volumev3")}/os-services?binary=cinder-backup`);
  return (r.services as { host: string; state: string }[]).some((s) => s.host === `backup-${site}` && s.state === "down");
}
