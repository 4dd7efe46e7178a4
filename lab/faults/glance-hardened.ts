import { ensureCinderOnInternalGlance } from "../services/cinder.ts";
import { setGlanceHardened } from "../services/glance.ts";
import { type FaultDef, volumeDown } from "./context.ts";

/** A user-facing Glance API without locations, with the hardened policy, as the public image endpoint (central only). */
export const glanceHardened: FaultDef = {
  refuse: (c) =>
    c.site !== c.sites[0] ? `fault glance-hardened hardens the one Glance every site shares: declare it at ${c.sites[0]}` : undefined,
  apply: async (c) => {
    const down = volumeDown(c);
    const restarted = await ensureCinderOnInternalGlance(c.state, c.secrets, c.sites, down);
    await setGlanceHardened(c.state, c.secrets, c.sites, c.glanceOptions(), true);
    c.writeClientConfig();
    if (restarted) await c.waitForStatus((s) => s.sites.every((r) => r.backend || down.includes(r.site)), 120000);
  },
  heal: async (c) => {
    await setGlanceHardened(c.state, c.secrets, c.sites, c.glanceOptions(), false);
    c.writeClientConfig();
    return undefined;
  },
};
