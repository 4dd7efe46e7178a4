import { writeNovaPolicy } from "../services/nova.ts";
import type { FaultDef } from "./context.ts";

/** Nova's policy hides the servers' hosts and the AZs' host lists from everyone. */
export const hostHidden: FaultDef = {
  apply: async () => writeNovaPolicy(true),
  heal: async () => void writeNovaPolicy(false),
};
