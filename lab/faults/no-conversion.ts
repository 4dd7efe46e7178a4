import { type FaultDef, restartGlance } from "./context.ts";

/** Glance without the image_conversion import plugin (glanceOptions reads the fault); heal restarts Glance once for the batch. */
export const noConversion: FaultDef = { apply: restartGlance, heal: async () => "restart-glance" };
