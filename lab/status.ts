import { cephState } from "./ceph.ts";
import { computeHost } from "./services/nova.ts";
import { LabAdmin } from "./os-admin.ts";
import { isRunning } from "./procs.ts";
import { labSites, profileDef } from "./profiles/index.ts";
import type { LabSecrets, LabState } from "./state.ts";

export interface SiteStatus {
  site: string;
  ceph: string;
  cephUp: boolean;
  store: boolean;
  backend: boolean;
  az: boolean;
}

export interface LabStatus {
  sites: SiteStatus[];
  services: { name: string; up: boolean }[];
  faults: LabState["faults"];
  allUp: boolean;
}

async function safe<T>(f: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await f();
  } catch {
    return fallback;
  }
}

const NOT_ASKED = "not asked";

/** A poll's memory of each cluster's state, and how old a reading it may reuse. */
export interface CephReadings {
  maxAgeMs: number;
  bySite: Map<string, { at: number; state: { health: string; osdUp: boolean } }>;
}

/**
 * The lab's status; without ceph, the clusters are not asked (for waits on the OpenStack services alone); with a
 * list of sites, only their clusters are. A backend counts once its service is up and the scheduler has its pool.
 * admin: a session to reuse (a poll of the status then costs Keystone no new token each time). ceph: the readings
 * a poll keeps, as each ceph CLI call costs CPU (docs/lab.md).
 */
export async function labStatus(
  state: LabState,
  secrets: LabSecrets,
  o: { ceph?: boolean | string[]; admin?: LabAdmin; readings?: CephReadings } = {},
): Promise<LabStatus> {
  const sites = labSites(state);
  const { store } = profileDef(state.profile);
  const admin = o.admin ?? new LabAdmin(secrets.admin);
  const loggedIn = await safe(async () => {
    if (o.admin) await admin.projectId();
    else await admin.login();
    return true;
  }, false);

  const stores = loggedIn
    ? await safe(async () => {
        const r = await admin.expect([200], "GET", `${await admin.endpoint("image")}/v2/info/stores`);
        return (r.stores as { id: string }[]).map((s) => s.id);
      }, [] as string[])
    : [];
  const backends = loggedIn
    ? await safe(
        async () => {
          const r = await admin.expect([200], "GET", `${await admin.endpoint("volumev3")}/os-services?binary=cinder-volume`);
          return (r.services as { host: string; state: string; status: string; zone: string }[])
            .filter((s) => s.state === "up" && s.status === "enabled")
            .map((s) => ({ backend: s.host.split("@")[1], zone: s.zone }));
        },
        [] as { backend: string; zone: string }[],
      )
    : [];
  // NOTE: a cinder-volume shows up some seconds before the scheduler has its pool's capabilities; until then no
  // volume can be placed on it, and the harness's conf-5 rightly finds no pool.
  const pooled = loggedIn
    ? await safe(
        async () => {
          const r = await admin.expect([200], "GET", `${await admin.endpoint("volumev3")}/scheduler-stats/get_pools`);
          return (r.pools as { name: string }[]).map((p) => p.name.split("#")[0]!.split("@")[1]);
        },
        [] as (string | undefined)[],
      )
    : [];
  const zones = loggedIn
    ? await safe(async () => {
        const r = await admin.expect([200], "GET", `${await admin.endpoint("compute")}/os-availability-zone/detail`);
        return r.availabilityZoneInfo as {
          zoneName: string;
          zoneState: { available: boolean };
          hosts: Record<string, Record<string, { active: boolean; available: boolean }>> | null;
        }[];
      }, [])
    : [];

  const siteStatus = await Promise.all(
    sites.map(async (site): Promise<SiteStatus> => {
      const asked = Array.isArray(o.ceph) ? o.ceph.includes(site) : o.ceph !== false;
      const { health: h, osdUp: osd } = asked ? await readCeph(site, o.readings) : { health: NOT_ASKED, osdUp: false };
      const zone = zones.find((z) => z.zoneName === site);
      const compute = zone?.hosts?.[computeHost(site)]?.["nova-compute"];
      return {
        site,
        ceph: !asked ? NOT_ASKED : osd ? h.split(" ")[0] : `${h.split(" ")[0]}, osd down`,
        cephUp: osd && (h.startsWith("HEALTH_OK") || h.startsWith("HEALTH_WARN")),
        store: stores.includes(store(site)),
        backend: backends.some((b) => b.backend === store(site) && b.zone === site) && pooled.includes(store(site)),
        az: Boolean(zone?.zoneState.available && compute?.active && compute?.available),
      };
    }),
  );
  const services = Object.entries(state.processes).map(([name, rec]) => ({ name, up: isRunning(rec) }));
  const allUp = siteStatus.every((s) => s.cephUp && s.store && s.backend && s.az) && services.every((s) => s.up) && loggedIn;
  return { sites: siteStatus, services, faults: state.faults, allUp };
}

export function formatStatus(st: LabStatus): string {
  const mark = (b: boolean) => (b ? "up" : "DOWN");
  const rows = [["site", "ceph", "glance store", "cinder backend", "nova az"]];
  for (const s of st.sites)
    rows.push([s.site, s.cephUp || s.ceph === NOT_ASKED ? s.ceph : `DOWN (${s.ceph})`, mark(s.store), mark(s.backend), mark(s.az)]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join("  ")
      .trimEnd(),
  );
  lines.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  const down = st.services.filter((s) => !s.up).map((s) => s.name);
  if (down.length) lines.push(`processes down: ${down.join(", ")}`);
  if (st.faults.length) lines.push(`active faults: ${st.faults.map((f) => `${f.kind}@${f.site}`).join(", ")}`);
  const notAsked = st.sites.filter((x) => x.ceph === NOT_ASKED).map((x) => x.site);
  const upOtherwise = st.sites.every((x) => (x.cephUp || notAsked.includes(x.site)) && x.store && x.backend && x.az) && !down.length;
  if (notAsked.length && upOtherwise) lines.push(`lab: up (the Ceph of ${notAsked.join(", ")} not asked)`);
  else lines.push(st.allUp ? "lab: all up" : "lab: NOT all up");
  return lines.join("\n");
}

async function readCeph(site: string, readings?: CephReadings): Promise<{ health: string; osdUp: boolean }> {
  const last = readings?.bySite.get(site);
  if (last && Date.now() - last.at < readings!.maxAgeMs) return last.state;
  const now = await cephState(site);
  readings?.bySite.set(site, { at: Date.now(), state: now });
  return now;
}
