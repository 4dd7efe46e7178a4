import type { FaultDef } from "./context.ts";

export const probeMisdirected: FaultDef = {
  apply: (c) => c.ensureDockerShims(),
  heal: async (c) => void (await c.ensureDockerShims()),
};
