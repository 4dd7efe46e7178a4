import { type FaultDef, restartGlance } from "./context.ts";

export const noConversion: FaultDef = { apply: restartGlance, heal: async () => "restart-glance" };
