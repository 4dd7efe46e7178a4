import type { FaultDef } from "./context.ts";

/** The site's Docker API socket serves another site's cluster (ensureDockerShims reads the fault). */
export const probeMisdirected: FaultDef = {
  apply: (c) => c.ensureDockerShims(),
  heal: async (c) => void (await c.ensureDockerShims()),
};
