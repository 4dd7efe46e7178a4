import { type BackendPool, rbdBackendTarget } from "../helpers/clients/volume.ts";
import {
  freezeMon,
  freezeOsd,
  osdUp,
  RENAMED_POOLS,
  setGlanceCapsBroad,
  setGlanceWrites,
  setPoolMissing,
  setPoolsRenamed,
  setUserCaps,
  thawMon,
  thawOsd,
} from "./ceph.ts";
import { writeCephadmClusters } from "./cephadm.ts";
import {
  cinderVolumeName,
  computeName,
  ensureCinder,
  ensureCinderOnInternalGlance,
  ensureEdgeGlances,
  ensureGlance,
  foreignCluster,
  type GlanceOptions,
  renamedAz,
  setGlanceHardened,
  startCinderVolume,
  startCompute,
  writeNovaPolicy,
} from "./openstack.ts";
import type { LabAdmin } from "./os-admin.ts";
import { LabError, stopProcess, waitUntil } from "./procs.ts";
import { OPENSTACK_CLIENT } from "./profiles/shared.ts";
import { profileDef } from "./profiles/index.ts";
import { ensureVolumeTypes, setAggregateMembership, waitForComputes } from "./provision.ts";
import type { FaultKind, LabSecrets, LabState } from "./state.ts";
import type { LabStatus } from "./status.ts";

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

const row = (c: FaultContext, s: LabStatus) => s.sites.find((x) => x.site === c.site)!;
const backend = (c: FaultContext, site = c.site) => profileDef(c.state.profile).store(site);
const volumeDown = (c: FaultContext) => c.state.faults.filter((f) => f.kind === "volume-down").map((f) => f.site);
const restartGlance = (c: FaultContext) => ensureGlance(c.state, c.secrets, c.sites, c.glanceOptions(), true);

/** Every lab fault; a kind in state.ts's FAULT_KINDS without an entry here does not compile. */
export const FAULTS: { readonly [K in FaultKind]: FaultDef } = {
  "osd-down": {
    apply: async (c) => {
      await freezeOsd(c.state, c.site);
      await waitUntil(`ceph-osd-${c.site}`, "osd.0 marked down", async () => !(await osdUp(c.site)), 60000);
    },
    heal: async (c) => {
      await thawOsd(c.state, c.site);
      await waitUntil(`ceph-osd-${c.site}`, "osd.0 up and in", () => osdUp(c.site), 90000);
      return undefined;
    },
  },
  "store-missing": { apply: restartGlance, heal: async () => "restart-glance" },
  "no-locations": { apply: restartGlance, heal: async () => "restart-glance" },
  "no-conversion": { apply: restartGlance, heal: async () => "restart-glance" },
  "glance-store-foreign": { apply: restartGlance, heal: async () => "restart-glance" },
  "store-write-denied": {
    apply: (c) => setGlanceWrites(c.site, false),
    heal: async (c) => void (await setGlanceWrites(c.site, true)),
  },
  "ceph-caps-broad": {
    apply: (c) => setGlanceCapsBroad(c.site),
    heal: async (c) => void (await setGlanceWrites(c.site, true)),
  },
  "pool-missing": {
    apply: (c) => setPoolMissing(c.site, true),
    heal: async (c) => void (await setPoolMissing(c.site, false)),
  },
  "pools-renamed": {
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
  },
  "volume-down": {
    apply: async (c) => {
      await stopProcess(c.state, cinderVolumeName(c.site));
      await c.waitForStatus((s) => !row(c, s).backend, 90000);
    },
    heal: async (c) => void (await startCinderVolume(c.state, c.site)),
  },
  "mon-down": {
    apply: async (c) => freezeMon(c.state, c.site),
    heal: async (c) => void (await thawMon(c.state, c.site)),
  },
  "probe-misdirected": {
    apply: (c) => c.ensureDockerShims(),
    heal: async (c) => void (await c.ensureDockerShims()),
  },
  "cinder-foreign": {
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
  },
  "compute-down": {
    apply: async (c) => {
      await stopProcess(c.state, computeName(c.site));
      await c.waitForStatus((s) => !row(c, s).az, 90000);
    },
    heal: async (c) => {
      startCompute(c.state, c.site);
      await waitForComputes(c.admin, [c.site]);
      return undefined;
    },
  },
  "az-mismatch": {
    apply: async (c) => {
      await setAggregateMembership(c.admin, c.site, false);
      await c.waitForStatus((s) => !row(c, s).az, 30000);
    },
    heal: async (c) => void (await setAggregateMembership(c.admin, c.site, true)),
  },
  "backup-down": {
    refuse: (c) =>
      c.backupSites.includes(c.site)
        ? undefined
        : `no cinder-backup runs at ${c.site} in this profile (only at ${c.backupSites.join(", ")})`,
    apply: async (c) => {
      await stopProcess(c.state, `cinder-backup-${c.site}`);
      await waitUntil(`cinder-backup-${c.site}`, `Cinder reports backup-${c.site} down`, () => backupDown(c.admin, c.site), 120000);
    },
    heal: async () => "start-backups",
  },
  "volume-az-fallback": {
    apply: async (c) => {
      await unpinVolumeType(c.admin, c.site);
      await restartCinderForAz(c);
      const zone = renamedAz(c.site);
      await waitUntil(`cinder-volume-${c.site}`, `cinder@${backend(c)} up in AZ ${zone}`, () => backendIn(c, zone), 90000);
    },
    heal: async (c) => {
      await ensureVolumeTypes(c.admin, [c.site], profileDef(c.state.profile).store);
      await restartCinderForAz(c);
      await waitUntil(`cinder-volume-${c.site}`, `cinder@${backend(c)} up in AZ ${c.site}`, () => backendIn(c, c.site), 90000);
      return undefined;
    },
  },
  "host-hidden": {
    apply: async () => writeNovaPolicy(true),
    heal: async () => void writeNovaPolicy(false),
  },
  "volume-quota": {
    apply: (c) => setTypeQuota(c.admin, c.site, 0),
    heal: async (c) => void (await setTypeQuota(c.admin, c.site, -1)),
  },
  "glance-hardened": {
    refuse: (c) =>
      c.site !== c.sites[0] ? `fault glance-hardened hardens the one Glance every site shares: declare it at ${c.sites[0]}` : undefined,
    apply: async (c) => {
      const down = volumeDown(c);
      const restarted = await ensureCinderOnInternalGlance(c.state, c.secrets, c.sites, down);
      await setGlanceHardened(c.state, c.secrets, c.sites, c.glanceOptions(), true);
      c.writeClientConfig();
      if (restarted) await c.waitForStatus((s) => s.sites.every((r) => r.backend || down.includes(r.site)), 120000);
    },
    heal: async (c) => {
      await setGlanceHardened(c.state, c.secrets, c.sites, c.glanceOptions(), false);
      c.writeClientConfig();
      return undefined;
    },
  },
  "cephadm-wrong-cluster": {
    apply: async (c) => writeCephadmClusters(c.state, c.sites, c.cephadmMisdirected()),
    heal: async (c) => void writeCephadmClusters(c.state, c.sites, c.cephadmMisdirected()),
  },
  "openstack-caps-no-volumes": {
    apply: (c) => setUserCaps(c.site, OPENSTACK_CLIENT, openstackCaps(c), "volumes"),
    heal: async (c) => void (await setUserCaps(c.site, OPENSTACK_CLIENT, openstackCaps(c))),
  },
  "edge-glance-default-central": {
    refuse: (c) =>
      c.site === c.sites[0]
        ? `fault edge-glance-default-central breaks an edge's own Glance API: declare it at an edge (${c.sites.slice(1).join(", ")})`
        : undefined,
    apply: (c) => ensureEdgeGlances(c.state, c.secrets, c.sites, c.glanceOptions(), edgeGlancesDefaultingToCentral(c)),
    heal: async (c) => {
      await ensureEdgeGlances(c.state, c.secrets, c.sites, c.glanceOptions(), edgeGlancesDefaultingToCentral(c));
      return undefined;
    },
  },
};

/** The edges whose own Glance API defaults to central's store: every site with the fault, in the state. */
const edgeGlancesDefaultingToCentral = (c: FaultContext) =>
  c.state.faults.filter((f) => f.kind === "edge-glance-default-central").map((f) => f.site);

function openstackCaps(c: FaultContext): string[] {
  const caps = profileDef(c.state.profile).shape(c.site, c.sites).users[OPENSTACK_CLIENT];
  if (!caps) throw new LabError(`profile ${c.state.profile ?? "standard"} has no ${OPENSTACK_CLIENT} at ${c.site}`);
  return caps;
}

/**
 * Restarts cinder-api and the site's cinder-volume with the state's faults: the volume-az-fallback fault lets the
 * API fall back to the default AZ, and gives the site's backend another AZ than the site's.
 */
async function restartCinderForAz(c: FaultContext): Promise<void> {
  await stopProcess(c.state, "cinder-api");
  await stopProcess(c.state, cinderVolumeName(c.site));
  await ensureCinder(c.state, c.secrets, c.sites, volumeDown(c));
}

/** The site's volume type without its backend and AZ (as a type shared by every site is): Cinder places it by AZ alone. */
async function unpinVolumeType(admin: LabAdmin, site: string): Promise<void> {
  const cinder = await admin.endpoint("volumev3");
  const types = (await admin.expect([200], "GET", `${cinder}/types`)).volume_types as { id: string; name: string }[];
  const type = types.find((t) => t.name === site);
  if (!type) throw new LabError(`no volume type ${site}`);
  for (const key of ["volume_backend_name", "RESKEY:availability_zones"])
    await admin.expect([200, 202, 404], "DELETE", `${cinder}/types/${type.id}/extra_specs/${encodeURIComponent(key)}`);
}

/** Whether Cinder lists the site's backend as up, in the given AZ. */
async function backendIn(c: FaultContext, zone: string): Promise<boolean> {
  const r = await c.admin.expect([200], "GET", `${await c.admin.endpoint("volumev3")}/os-services?binary=cinder-volume`);
  return (r.services as { host: string; state: string; zone: string }[]).some(
    (s) => s.host === `cinder@${backend(c)}` && s.state === "up" && s.zone === zone,
  );
}

/**
 * Waits until Cinder's scheduler lists the site's backend pool on the cluster's fsid (the driver's location_info).
 * NOTE: a restarted cinder-volume reports its pool's capabilities some seconds after its service shows up; until then
 * the scheduler still lists the cluster it wrote to before.
 */
async function backendReportsCluster(c: FaultContext, cluster: string, pool?: string): Promise<void> {
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

/** The admin project's quota of volumes of the site's volume type (-1: unlimited). */
async function setTypeQuota(admin: LabAdmin, site: string, volumes: number): Promise<void> {
  const cinder = await admin.endpoint("volumev3");
  await admin.expect([200], "PUT", `${cinder}/os-quota-sets/${await admin.projectId()}`, { quota_set: { [`volumes_${site}`]: volumes } });
}

/** Whether Cinder lists the site's cinder-backup service as down (after service_down_time without a report). */
async function backupDown(admin: LabAdmin, site: string): Promise<boolean> {
  const r = await admin.expect([200], "GET", `${await admin.endpoint("volumev3")}/os-services?binary=cinder-backup`);
  return (r.services as { host: string; state: string }[]).some((s) => s.host === `backup-${site}` && s.state === "down");
}
