import { type FaultDef, restartGlance } from "./context.ts";

/** Glance hides image locations (glanceOptions reads the fault); heal restarts Glance once for the batch. */
export const noLocations: FaultDef = { apply: restartGlance, heal: async () => "restart-glance" };
