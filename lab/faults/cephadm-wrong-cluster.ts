import { writeCephadmClusters } from "../cephadm.ts";
import type { FaultDef } from "./context.ts";

/** The site's cephadm shell opens its neighbour's cluster (profiles osp17 and rhoso18). */
export const cephadmWrongCluster: FaultDef = {
  apply: async (c) => writeCephadmClusters(c.state, c.sites, c.cephadmMisdirected()),
  heal: async (c) => void writeCephadmClusters(c.state, c.sites, c.cephadmMisdirected()),
};
