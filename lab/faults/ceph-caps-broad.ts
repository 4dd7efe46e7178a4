import { setGlanceCapsBroad, setGlanceWrites } from "../ceph.ts";
import type { FaultDef } from "./context.ts";

export const cephCapsBroad: FaultDef = {
  apply: (c) => setGlanceCapsBroad(c.site),
  heal: async (c) => void (await setGlanceWrites(c.site, true)),
};
