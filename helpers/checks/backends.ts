import { type ComputeAvailabilityZone, upHosts } from "../clients/compute.ts";
import { poolsInAz, rbdBackendTarget, type VolumeAvailabilityZone, type VolumeService } from "../clients/volume.ts";
import type { SiteContext } from "../harness/context.ts";
import { attachJson } from "../harness/steps.ts";

/** A site's AZ as Nova and Cinder list it: the AZ of the site's name, and its enabled, up compute hosts. */
export interface SiteZones {
  nova: ComputeAvailabilityZone[];
  cinder: VolumeAvailabilityZone[];
  novaZone?: ComputeAvailabilityZone;
  cinderZone?: VolumeAvailabilityZone;
  upHosts: string[];
}

export async function siteZones(c: SiteContext): Promise<SiteZones> {
  const [nova, cinder] = await Promise.all([c.clients.compute.listAvailabilityZones(true), c.clients.volume.listAvailabilityZones()]);
  await attachJson("Nova availability zones", nova);
  await attachJson("Cinder availability zones", cinder);
  const novaZone = nova.find((z) => z.zoneName === c.site.az);
  return { nova, cinder, novaZone, cinderZone: cinder.find((z) => z.zoneName === c.site.az), upHosts: upHosts(novaZone) };
}

/** The Cinder backends serving a site's AZ, and the Ceph cluster each writes to, beside the site's own cluster. */
export interface SiteBackends {
  /** The cinder-volume services of the AZ (only the enabled, up ones with upOnly). */
  services: VolumeService[];
  backends: { pool: string; backend?: string; state?: string; fsid?: string }[];
  /** The site's own cluster: pinned in the config, or found before the run's first test. */
  fsid: string;
  /** The backends that write anywhere else. */
  elsewhere: SiteBackends["backends"];
}

/** Reads the AZ's cinder-volume services and backend pools (admin-only APIs) and the site's cluster fsid. */
export async function siteBackends(c: SiteContext, o: { upOnly?: boolean } = {}): Promise<SiteBackends> {
  const fsid = c.clusterOf(c.site);
  const [all, pools] = await Promise.all([c.clients.volume.listServices({ binary: "cinder-volume" }), c.clients.volume.listBackendPools()]);
  const inAz = all.filter((s) => s.zone === c.site.az);
  const services = o.upOnly ? inAz.filter((s) => s.state === "up" && s.status === "enabled") : inAz;
  await attachJson(`cinder-volume services in AZ ${c.site.az}`, inAz);
  const backends = poolsInAz(services, pools, c.site.az).map((p) => ({
    pool: p.name,
    backend: p.capabilities?.volume_backend_name,
    state: p.capabilities?.backend_state,
    fsid: rbdBackendTarget(p)?.fsid,
  }));
  await attachJson(`Cinder backends in AZ ${c.site.az}`, backends);
  return { services, backends, fsid, elsewhere: backends.filter((b) => b.fsid !== fsid) };
}
