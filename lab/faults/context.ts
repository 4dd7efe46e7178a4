import { type BackendPool, rbdBackendTarget } from "../../helpers/clients/volume.ts";
import type { LabAdmin } from "../os-admin.ts";
import { waitUntil } from "../procs.ts";
import { profileDef } from "../profiles/index.ts";
import { cinderVolumeName } from "../services/cinder.ts";
import { ensureGlance, type GlanceOptions } from "../services/glance.ts";
import type { LabSecrets, LabState } from "../state.ts";
import type { LabStatus } from "../status.ts";

/** What a fault's apply and heal are given: the lab, its one faulty site, and the lab's own steps they need. */
export interface FaultContext {
  state: LabState;
  secrets: LabSecrets;
  admin: LabAdmin;
  /** The lab's sites, central first. */
  sites: string[];
  site: string;
  /** The sites where the profile runs cinder-backup. */
  backupSites: string[];
  glanceOptions(): GlanceOptions;
  /** Polls the lab's status (OpenStack side only) until done says so or the time is up. */
  waitForStatus(done: (s: LabStatus) => boolean, timeoutMs: number): Promise<LabStatus>;
  ensureDockerShims(): Promise<void>;
  writeClientConfig(): void;
  /** Fault cephadm-wrong-cluster: each such site's cephadm shell opens its neighbour's cluster. */
  cephadmMisdirected(): Record<string, string>;
}

/** What a heal leaves for after every heal of the batch: one Glance restart, one start of the missing cinder-backups. */
export type HealAfter = "restart-glance" | "start-backups" | undefined;

export interface FaultDef {
  /** Why the fault cannot be declared at this site, if it cannot. */
  refuse?(c: Pick<FaultContext, "site" | "sites" | "backupSites">): string | undefined;
  apply(c: FaultContext): Promise<void>;
  heal(c: FaultContext): Promise<HealAfter>;
}

export const row = (c: FaultContext, s: LabStatus) => s.sites.find((x) => x.site === c.site)!;
export const backend = (c: FaultContext, site = c.site) => profileDef(c.state.profile).store(site);
export const volumeDown = (c: FaultContext) => c.state.faults.filter((f) => f.kind === "volume-down").map((f) => f.site);
export const restartGlance = (c: FaultContext) => ensureGlance(c.state, c.secrets, c.sites, c.glanceOptions(), true);

/**
 * Waits until Cinder's scheduler lists the site's backend pool on the cluster's fsid (the driver's location_info).
 * NOTE: a restarted cinder-volume reports its pool's capabilities some seconds after its service shows up; until then
 * the scheduler still lists the cluster it wrote to before.
 */
export async function backendReportsCluster(c: FaultContext, cluster: string, pool?: string): Promise<void> {
  const fsid = c.state.ceph[cluster]!.fsid;
  await waitUntil(
    cinderVolumeName(c.site),
    `Cinder's pool of cinder@${backend(c)} on ${pool ? `pool ${pool} of ` : ""}${cluster}'s cluster (fsid ${fsid})`,
    async () => {
      const r = await c.admin.expect([200], "GET", `${await c.admin.endpoint("volumev3")}/scheduler-stats/get_pools?detail=true`);
      return (r.pools as BackendPool[]).some((p) => {
        const t = p.name.startsWith(`cinder@${backend(c)}#`) ? rbdBackendTarget(p) : undefined;
        return t?.fsid === fsid && (!pool || t.pool === pool);
      });
    },
    90000,
  );
}
