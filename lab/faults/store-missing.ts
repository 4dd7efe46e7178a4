import { type FaultDef, restartGlance } from "./context.ts";

/** Glance without the site's store (glanceOptions in services/glance.ts reads the fault); heal restarts Glance once for the batch. */
export const storeMissing: FaultDef = { apply: restartGlance, heal: async () => "restart-glance" };
