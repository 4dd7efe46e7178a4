import { setPoolMissing } from "../ceph.ts";
import type { FaultDef } from "./context.ts";

/** The site's backups pool renamed away, keeping its data; heal renames it back. */
export const poolMissing: FaultDef = {
  apply: (c) => setPoolMissing(c.site, true),
  heal: async (c) => void (await setPoolMissing(c.site, false)),
};
