import { freezeOsd, osdUp, thawOsd } from "../ceph.ts";
import { waitUntil } from "../procs.ts";
import type { FaultDef } from "./context.ts";

/** The site's only OSD frozen (its in-memory store kept) until Ceph marks it down; heal thaws it until it is up and in. */
export const osdDown: FaultDef = {
  apply: async (c) => {
    await freezeOsd(c.state, c.site);
    await waitUntil(`ceph-osd-${c.site}`, "osd.0 marked down", async () => !(await osdUp(c.site)), 60000);
  },
  heal: async (c) => {
    await thawOsd(c.state, c.site);
    await waitUntil(`ceph-osd-${c.site}`, "osd.0 up and in", () => osdUp(c.site), 90000);
    return undefined;
  },
};
