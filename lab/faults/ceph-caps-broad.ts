import { setGlanceCapsBroad, setGlanceWrites } from "../ceph.ts";
import type { FaultDef } from "./context.ts";

/** client.glance may do anything anywhere, as a careless deployment leaves it; heal writes its usual caps back. */
export const cephCapsBroad: FaultDef = {
  apply: (c) => setGlanceCapsBroad(c.site),
  heal: async (c) => void (await setGlanceWrites(c.site, true)),
};
