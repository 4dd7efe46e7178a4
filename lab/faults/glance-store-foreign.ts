import { type FaultDef, restartGlance } from "./context.ts";

export const glanceStoreForeign: FaultDef = { apply: restartGlance, heal: async () => "restart-glance" };
