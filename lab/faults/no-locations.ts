import { type FaultDef, restartGlance } from "./context.ts";

export const noLocations: FaultDef = { apply: restartGlance, heal: async () => "restart-glance" };
