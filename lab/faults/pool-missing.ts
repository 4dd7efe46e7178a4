import { setPoolMissing } from "../ceph.ts";
import type { FaultDef } from "./context.ts";

export const poolMissing: FaultDef = {
  apply: (c) => setPoolMissing(c.site, true),
  heal: async (c) => void (await setPoolMissing(c.site, false)),
};
