import { writeNovaPolicy } from "../services/nova.ts";
import type { FaultDef } from "./context.ts";

export const hostHidden: FaultDef = {
  apply: async () => writeNovaPolicy(true),
  heal: async () => void writeNovaPolicy(false),
};
