import { stopProcess } from "../procs.ts";
import { cinderVolumeName, foreignCluster, startCinderVolume } from "../services/cinder.ts";
import { backendReportsCluster, type FaultDef, row } from "./context.ts";

/** The site's Cinder backend writes to another site's cluster (startCinderVolume reads the fault). */
export const cinderForeign: FaultDef = {
  apply: async (c) => {
    await stopProcess(c.state, cinderVolumeName(c.site));
    await startCinderVolume(c.state, c.site);
    await c.waitForStatus((s) => row(c, s).backend, 90000);
    await backendReportsCluster(c, foreignCluster(c.site, c.sites));
  },
  heal: async (c) => {
    await stopProcess(c.state, cinderVolumeName(c.site));
    await startCinderVolume(c.state, c.site);
    await backendReportsCluster(c, c.site);
    return undefined;
  },
};
