import { type FaultDef, restartGlance } from "./context.ts";

export const storeMissing: FaultDef = { apply: restartGlance, heal: async () => "restart-glance" };
