import { stopProcess } from "../procs.ts";
import { cinderVolumeName, startCinderVolume } from "../services/cinder.ts";
import { type FaultDef, row } from "./context.ts";

/** The site's cinder-volume stopped until Cinder reports its backend down. */
export const volumeDown: FaultDef = {
  apply: async (c) => {
    await stopProcess(c.state, cinderVolumeName(c.site));
    await c.waitForStatus((s) => !row(c, s).backend, 90000);
  },
  heal: async (c) => void (await startCinderVolume(c.state, c.site)),
};
