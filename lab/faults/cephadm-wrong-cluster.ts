import { writeCephadmClusters } from "../cephadm.ts";
import type { FaultDef } from "./context.ts";

export const cephadmWrongCluster: FaultDef = {
  apply: async (c) => writeCephadmClusters(c.state, c.sites, c.cephadmMisdirected()),
  heal: async (c) => void writeCephadmClusters(c.state, c.sites, c.cephadmMisdirected()),
};
