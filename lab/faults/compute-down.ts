import { stopProcess } from "../procs.ts";
import { waitForComputes } from "../provision.ts";
import { computeName, startCompute } from "../services/nova.ts";
import { type FaultDef, row } from "./context.ts";

/** The site's nova-compute stopped until the site's AZ has no compute up. */
export const computeDown: FaultDef = {
  apply: async (c) => {
    await stopProcess(c.state, computeName(c.site));
    await c.waitForStatus((s) => !row(c, s).az, 90000);
  },
  heal: async (c) => {
    startCompute(c.state, c.site);
    await waitForComputes(c.admin, [c.site]);
    return undefined;
  },
};
