import type { Config } from "../config.ts";
import type { RequestObserver } from "../http.ts";
import { ComputeClient } from "./compute.ts";
import { openSession, type Session } from "./identity.ts";
import { ImageClient } from "./image.ts";
import { VolumeClient } from "./volume.ts";

export interface Clients {
  session: Session;
  image: ImageClient;
  volume: VolumeClient;
  compute: ComputeClient;
}

/** One session (one credential) shared by the Glance, Cinder and Nova clients, microversions negotiated. */
export async function openClients(
  cfg: Pick<Config, "cloud" | "timeouts">,
  o: { onRequest?: RequestObserver; volumeMicroversion?: string; computeMicroversion?: string } = {},
): Promise<Clients> {
  const session = await openSession(cfg, { onRequest: o.onRequest });
  const [volume, compute] = await Promise.all([
    VolumeClient.negotiate(session, { microversion: o.volumeMicroversion }),
    ComputeClient.negotiate(session, { microversion: o.computeMicroversion }),
  ]);
  return { session, image: new ImageClient(session), volume, compute };
}
