import { freezeOsd, osdUp, thawOsd } from "../ceph.ts";
import { waitUntil } from "../procs.ts";
import type { FaultDef } from "./context.ts";

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
