import { freezeMon, thawMon } from "../ceph.ts";
import type { FaultDef } from "./context.ts";

/** The site's Ceph monitor frozen: its cluster stops answering, as a site cut off; heal thaws it. */
export const monDown: FaultDef = {
  apply: async (c) => freezeMon(c.state, c.site),
  heal: async (c) => void (await thawMon(c.state, c.site)),
};
