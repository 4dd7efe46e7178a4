import { setAggregateMembership } from "../provision.ts";
import { type FaultDef, row } from "./context.ts";

/** The site's compute host taken out of its AZ's aggregate. */
export const azMismatch: FaultDef = {
  apply: async (c) => {
    await setAggregateMembership(c.admin, c.site, false);
    await c.waitForStatus((s) => !row(c, s).az, 30000);
  },
  heal: async (c) => void (await setAggregateMembership(c.admin, c.site, true)),
};
