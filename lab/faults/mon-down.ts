import { freezeMon, thawMon } from "../ceph.ts";
import type { FaultDef } from "./context.ts";

export const monDown: FaultDef = {
  apply: async (c) => freezeMon(c.state, c.site),
  heal: async (c) => void (await thawMon(c.state, c.site)),
};
