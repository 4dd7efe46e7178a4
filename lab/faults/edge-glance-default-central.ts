import { ensureEdgeGlances } from "../services/glance.ts";
import type { FaultContext, FaultDef } from "./context.ts";

/** An edge's own Glance API defaults to central's store instead of its own (profile rhoso18). */
export const edgeGlanceDefaultCentral: FaultDef = {
  refuse: (c) =>
    c.site === c.sites[0]
      ? `fault edge-glance-default-central breaks an edge's own Glance API: declare it at an edge (${c.sites.slice(1).join(", ")})`
      : undefined,
  apply: (c) => ensureEdgeGlances(c.state, c.secrets, c.sites, c.glanceOptions(), edgeGlancesDefaultingToCentral(c)),
  heal: async (c) => {
    await ensureEdgeGlances(c.state, c.secrets, c.sites, c.glanceOptions(), edgeGlancesDefaultingToCentral(c));
    return undefined;
  },
};

/** The edges whose own Glance API defaults to central's store: every site with the fault, in the state. */
const edgeGlancesDefaultingToCentral = (c: FaultContext) =>
  c.state.faults.filter((f) => f.kind === "edge-glance-default-central").map((f) => f.site);
