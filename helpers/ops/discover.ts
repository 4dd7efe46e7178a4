import { upHosts } from "../clients/compute.ts";
import type { Clients } from "../clients/index.ts";
import { poolsInAz, rbdBackendTarget } from "../clients/volume.ts";
import type { Distribution } from "../config/schema.ts";
import { isApiError } from "../core/http.ts";
import { storeCluster } from "../clients/store-cluster.ts";

export interface DiscoveredSite {
  name: string;
  store: string;
  default: boolean;
  /** From Glance's stores detail (admin): the store's Ceph cluster. */
  storeFsid?: string;
  novaAz?: { hosts: string[]; upHosts: string[] };
  cinderAz?: { available: boolean };
  volumeServices: { host: string; up: boolean }[];
  backends: { pool: string; cluster?: string; fsid?: string }[];
}

export interface Discovery {
  sites: DiscoveredSite[];
  /** AZs of Nova or Cinder that no store carries the name of. */
  orphanAzs: { az: string; nova: boolean; cinder: boolean; fsids: string[] }[];
  findings: string[];
  smallestFlavor?: string;
}

/** Reads Glance's stores, Nova's and Cinder's AZs, Cinder's volume services and backends, and says where they disagree. */
export async function discover(c: Clients): Promise<Discovery> {
  const [stores, detail, novaAzs, cinderAzs, services, pools, flavors, images] = await Promise.all([
    c.image.listStores(),
    c.image.listStoresDetail().catch((e) => (isApiError(e, 403) ? undefined : Promise.reject(e))),
    c.compute.listAvailabilityZones(true),
    c.volume.listAvailabilityZones(),
    c.volume.listServices({ binary: "cinder-volume" }),
    c.volume.listBackendPools().catch((e) => (isApiError(e, 403) ? [] : Promise.reject(e))),
    c.compute.listFlavors(),
    c.image.listImages({ limit: 200 }),
  ]);
  const findings: string[] = [];
  if (!detail) findings.push("GET /v2/info/stores/detail is refused (not admin): the stores' Ceph clusters are unknown");
  const nova = novaAzs.filter((z) => z.zoneName !== "internal");
  const backendsIn = (az: string) => {
    return poolsInAz(services, pools, az).map((p) => {
      const t = rbdBackendTarget(p);
      return { pool: p.name, cluster: t?.cluster, fsid: t?.fsid };
    });
  };
  const azNamed = (az: string) => nova.some((z) => z.zoneName === az) || cinderAzs.some((z) => z.zoneName === az);
  // NOTE: kolla names stores after their cluster (ceph1-rbd), not the AZ: a store with no AZ of its name goes with the
  // AZ whose Cinder backends write to the cluster its images' rbd locations name.
  const clusterOf = (store: string) => {
    const r = storeCluster(store, detail, images);
    return r.kind === "fsid" ? r.fsid : undefined;
  };
  const azOf = (store: string) => {
    if (azNamed(store)) return store;
    const fsid = clusterOf(store);
    const azs = [...new Set([...nova.map((z) => z.zoneName), ...cinderAzs.map((z) => z.zoneName)])];
    const on = fsid ? azs.filter((az) => !stores.some((x) => x.id === az) && backendsIn(az).some((b) => b.fsid === fsid)) : [];
    return on.length === 1 ? on[0]! : store;
  };
  const sites: DiscoveredSite[] = stores.map((s) => {
    const az = azOf(s.id);
    const n = nova.find((z) => z.zoneName === az);
    const cz = cinderAzs.find((z) => z.zoneName === az);
    return {
      name: az,
      store: s.id,
      default: s.default === "true",
      storeFsid: detail?.find((d) => d.id === s.id)?.properties.fsid ?? (az !== s.id ? clusterOf(s.id) : undefined),
      novaAz: n ? { hosts: Object.keys(n.hosts ?? {}), upHosts: upHosts(n) } : undefined,
      cinderAz: cz ? { available: cz.zoneState.available } : undefined,
      volumeServices: services.filter((v) => v.zone === az).map((v) => ({ host: v.host, up: v.state === "up" && v.status === "enabled" })),
      backends: backendsIn(az),
    };
  });
  for (const s of sites) {
    if (!s.novaAz) findings.push(`store ${s.store} has no Nova AZ of its name${s.name === s.store ? "" : ` (nor ${s.name})`}`);
    else if (s.novaAz.upHosts.length === 0) findings.push(`Nova AZ ${s.name} has no enabled, up compute host`);
    if (!s.cinderAz) findings.push(`store ${s.store} has no Cinder AZ of its name`);
    if (s.volumeServices.length === 0) findings.push(`AZ ${s.name} has no cinder-volume service`);
    else if (!s.volumeServices.some((v) => v.up))
      findings.push(`AZ ${s.name}'s cinder-volume services are all down or disabled (${s.volumeServices.map((v) => v.host).join(", ")})`);
    for (const b of s.backends) {
      if (s.storeFsid && b.fsid && b.fsid !== s.storeFsid)
        findings.push(
          `store ${s.store} is on Ceph fsid ${s.storeFsid}, but Cinder backend ${b.pool} of AZ ${s.name} writes to fsid ${b.fsid}`,
        );
    }
  }
  const azNames = [...new Set([...nova.map((z) => z.zoneName), ...cinderAzs.map((z) => z.zoneName)])].filter(
    (z) => !sites.some((s) => s.name === z),
  );
  const orphanAzs = azNames.map((az) => ({
    az,
    nova: nova.some((z) => z.zoneName === az),
    cinder: cinderAzs.some((z) => z.zoneName === az),
    fsids: backendsIn(az)
      .map((b) => b.fsid)
      .filter((f): f is string => Boolean(f)),
  }));
  for (const o of orphanAzs) {
    const twin = sites.find((s) => s.storeFsid && o.fsids.includes(s.storeFsid));
    const where = [o.nova && "Nova", o.cinder && "Cinder"].filter(Boolean).join(" and ");
    findings.push(
      twin
        ? `${where} AZ ${o.az} and Glance store ${twin.store} are on the same Ceph cluster (${twin.storeFsid}) but their names differ`
        : `${where} AZ ${o.az} has no Glance store of its name`,
    );
  }
  const smallest = [...flavors].sort((a, b) => (a.ram ?? 0) - (b.ram ?? 0) || (a.vcpus ?? 0) - (b.vcpus ?? 0))[0];
  return { sites, orphanAzs, findings, smallestFlavor: smallest?.name };
}

/** The fsid to pin for a site: its store's and its Cinder backend's, when they agree (a disagreement is a finding). */
function pinnable(s: DiscoveredSite): string | undefined {
  const fsids = new Set([s.storeFsid, ...s.backends.map((b) => b.fsid)].filter((f): f is string => Boolean(f)));
  return fsids.size === 1 ? [...fsids][0] : undefined;
}

/** The start of a value the operator fills in; no host name, fsid or path starts so, so the config is refused until then. */
export const FILL = "FILL-IN";
const fill = (what: string) => `${FILL}: ${what}`;

interface SiteCeph {
  name: string;
  cluster: string;
}

/** A site's Ceph access in each distribution's shape, hosts left to fill in. */
const DISTRIBUTION_CEPH: Record<Distribution, (s: SiteCeph) => Record<string, unknown>> = {
  // NOTE: TripleO's ceph-admin user on the overcloud nodes is tripleo-admin, whose sudo runs cephadm.
  osp17: (s) => ({ transport: { kind: "cephadm", host: fill(`an HCI or controller host of ${s.name}`), user: "tripleo-admin" } }),
  // NOTE: RHOSO 18's EDPM nodes are reached as cloud-admin; Ceph runs on the HCI ones.
  rhoso18: (s) => ({ transport: { kind: "cephadm", host: fill(`an EDPM (HCI) node of ${s.name}`), user: "cloud-admin" } }),
  // NOTE: kolla-ansible's external Ceph guide keeps each cluster's conf and cinder's keyring under /etc/kolla/config/cinder.
  kolla: (s) => ({
    transport: { kind: "local" },
    user: "cinder",
    conf: `/etc/kolla/config/cinder/${s.cluster}.conf`,
    keyring: `/etc/kolla/config/cinder/cinder-volume/${s.cluster}.client.cinder.keyring`,
  }),
};

/**
 * A config for dcn-verify run, from what was discovered. Without a distribution the Ceph transports are
 * `{ kind: local }` for the operator to set; with one, each site's is that distribution's, its hosts to fill in,
 * and `distribution` implies the Ceph users and the backups target.
 */
export function configFromDiscovery(d: Discovery, cloud: Record<string, unknown>, distribution?: Distribution): Record<string, unknown> {
  const site = (s: DiscoveredSite) => {
    const cluster = s.backends.find((b) => b.cluster)?.cluster ?? s.name;
    const fsid = pinnable(s);
    const access = distribution ? DISTRIBUTION_CEPH[distribution]({ name: s.name, cluster }) : { transport: { kind: "local" } };
    const needsFsid = (access.transport as { kind: string }).kind === "cephadm";
    return {
      name: s.name,
      az: s.name,
      store: s.store,
      ceph: {
        cluster,
        ...access,
        ...(fsid ? { fsid } : needsFsid ? { fsid: fill(`\`ceph fsid\` of ${s.name}'s cluster`) } : {}),
      },
    };
  };
  const central = d.sites.find((s) => s.default) ?? d.sites[0];
  return {
    ...(distribution ? { distribution } : {}),
    cloud,
    central: central ? site(central) : undefined,
    edges: d.sites.filter((s) => s !== central).map(site),
    flavor: d.smallestFlavor ?? "CHANGE-ME",
    network: "none",
  };
}

/** The values a discovered config leaves to fill in, by their path in the config, with what goes there. */
export function toFill(config: unknown): { path: string; what: string }[] {
  const walk = (v: unknown, path: string): { path: string; what: string }[] => {
    if (typeof v === "string") return v.startsWith(`${FILL}: `) ? [{ path, what: v.slice(FILL.length + 2) }] : [];
    if (Array.isArray(v)) return v.flatMap((x, i) => walk(x, `${path}[${i}]`));
    if (v && typeof v === "object") return Object.entries(v).flatMap(([k, x]) => walk(x, path ? `${path}.${k}` : k));
    return [];
  };
  return walk(config, "");
}
