import { setGlanceWrites } from "../ceph.ts";
import type { FaultDef } from "./context.ts";

export const storeWriteDenied: FaultDef = {
  apply: (c) => setGlanceWrites(c.site, false),
  heal: async (c) => void (await setGlanceWrites(c.site, true)),
};
