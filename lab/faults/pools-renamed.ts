import { RENAMED_POOLS, setPoolsRenamed } from "../ceph.ts";
import { stopProcess } from "../procs.ts";
import { cinderVolumeName, startCinderVolume } from "../services/cinder.ts";
import { backendReportsCluster, type FaultDef, restartGlance, row } from "./context.ts";

/** The site's images and volumes pools renamed (glance-images, cinder-volumes), Glance and cinder-volume on the new names. */
export const poolsRenamed: FaultDef = {
  apply: async (c) => {
    await setPoolsRenamed(c.site, true);
    await restartGlance(c);
    await stopProcess(c.state, cinderVolumeName(c.site));
    await startCinderVolume(c.state, c.site);
    await c.waitForStatus((s) => row(c, s).backend, 90000);
    await backendReportsCluster(c, c.site, RENAMED_POOLS.volumes);
  },
  heal: async (c) => {
    await setPoolsRenamed(c.site, false);
    await stopProcess(c.state, cinderVolumeName(c.site));
    await startCinderVolume(c.state, c.site);
    await backendReportsCluster(c, c.site, "volumes");
    return "restart-glance";
  },
};
