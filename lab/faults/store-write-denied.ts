import { setGlanceWrites } from "../ceph.ts";
import type { FaultDef } from "./context.ts";

/** Glance's cephx user may read the site's images pool but not write it. */
export const storeWriteDenied: FaultDef = {
  apply: (c) => setGlanceWrites(c.site, false),
  heal: async (c) => void (await setGlanceWrites(c.site, true)),
};
