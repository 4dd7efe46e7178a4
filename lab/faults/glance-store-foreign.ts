import { type FaultDef, restartGlance } from "./context.ts";

/** The site's Glance store written to another site's cluster (glanceOptions reads the fault); heal restarts Glance once for the batch. */
export const glanceStoreForeign: FaultDef = { apply: restartGlance, heal: async () => "restart-glance" };
