import { appendFileSync } from "node:fs";
import type { Config, Site } from "../config/schema.ts";
import { onRequest, type RequestObserver } from "../core/http.ts";
import { ComputeClient } from "./compute.ts";
import { openSession, type Session } from "./identity.ts";
import { ImageClient } from "./image.ts";
import { VolumeClient } from "./volume.ts";

export interface Clients {
  session: Session;
  image: ImageClient;
  /** The site's own Glance API (site.glance.endpoint, not in the catalog), with the same token; absent when the site names none. */
  siteImage?: ImageClient;
  volume: VolumeClient;
  compute: ComputeClient;
}

/** Set to a file, every request the harness sends is appended to it (method, service, redacted URL, status). */
export const REQUEST_LOG_ENV = "DCN_VERIFY_REQUEST_LOG";
let requestLog: string | undefined;

export function recordRequests(): void {
  const file = process.env[REQUEST_LOG_ENV];
  if (!file || requestLog === file) return;
  requestLog = file;
  onRequest((e) =>
    appendFileSync(file, `${JSON.stringify({ service: e.service, method: e.method, url: e.url, status: e.status ?? null })}\n`),
  );
}

/**
 * One session (one credential) shared by the Glance, Cinder and Nova clients, microversions negotiated.
 * region puts Cinder and Nova in a site's region, imageRegion Glance (both default to the credential's).
 */
export async function openClients(
  cfg: Pick<Config, "cloud" | "timeouts">,
  o: { onRequest?: RequestObserver; volumeMicroversion?: string; computeMicroversion?: string; region?: string; imageRegion?: string } = {},
): Promise<Clients> {
  recordRequests();
  const session = await openSession(cfg, { onRequest: o.onRequest });
  const [volume, compute] = await Promise.all([
    VolumeClient.negotiate(session, { microversion: o.volumeMicroversion, region: o.region }),
    ComputeClient.negotiate(session, { microversion: o.computeMicroversion, region: o.region }),
  ]);
  return { session, image: new ImageClient(session, { region: o.imageRegion }), volume, compute };
}

/**
 * The clients of one site: its Cinder and Nova in the site's region (site.region, else the cloud's), and
 * Glance in central's region at every site, since the harness's Glance is the multi-store one at central;
 * beside it, the site's own Glance API when the config names one.
 */
export async function openSiteClients(
  cfg: Pick<Config, "cloud" | "timeouts" | "central">,
  site: Pick<Site, "region" | "glance">,
  o: { onRequest?: RequestObserver } = {},
): Promise<Clients> {
  const clients = await openClients(cfg, { ...o, region: site.region, imageRegion: cfg.central.region });
  return site.glance ? { ...clients, siteImage: new ImageClient(clients.session, { url: site.glance.endpoint }) } : clients;
}
