import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { RENAMED_POOLS } from "../ceph.ts";
import { KEYSTONE_URL, LabAdmin } from "../os-admin.ts";
import { labSites, profileDef } from "../profiles/index.ts";
import { LabError, stopProcess } from "../procs.ts";
import { type LabSecrets, type LabState, loadOrCreateSecrets, readState, writeSecretFile, writeState } from "../state.ts";
import { authtoken, data, dbUrl, type DbOnly, ensureProcess, etc, httpUp, PORTS, run } from "./common.ts";

export interface GlanceOptions {
  /** Stores left out on purpose (fault store-missing). */
  withoutStores?: string[];
  /** Hide image locations (fault no-locations). */
  hideLocations?: boolean;
  /** Leave out the image_conversion import plugin (fault no-conversion). */
  noConversion?: boolean;
  /** Sites whose images pool is renamed (fault pools-renamed). */
  renamedPools?: string[];
  /** Stores written to another site's cluster (fault glance-store-foreign): store to cluster. */
  foreignStores?: Record<string, string>;
  /** The profile's Glance: each site's store name, the cephx user, the import methods and the web-download filter. */
  profile?: {
    store: (site: string) => string;
    user: string;
    importMethods: readonly string[];
    stockFilter: boolean;
  };
  /**
   * An edge site's own Glance API (RHOSO 18): central's store and its own, its own the default (or defaultSite's,
   * fault edge-glance-default-central), on its own port.
   */
  edge?: { site: string; port: number; defaultSite?: string };
  /** The user-facing Glance of fault glance-hardened: its own port, no locations, the hardened policy. */
  userFacing?: boolean;
}

export function glanceConf(s: LabSecrets, sites: string[], opts: GlanceOptions = {}): string {
  const storeOf = opts.profile?.store ?? ((x: string) => x);
  const served = opts.edge ? [sites[0]!, opts.edge.site] : sites;
  const stores = served.filter((x) => !(opts.withoutStores ?? []).includes(x));
  const showLocations = opts.hideLocations || opts.userFacing ? "False" : "True";
  const port = opts.edge ? opts.edge.port : opts.userFacing ? GLANCE_USER_PORT : PORTS.glance;
  const methods = opts.profile?.importMethods ?? ["glance-direct", "web-download", "copy-image"];
  return `[DEFAULT]
bind_host = 127.0.0.1
bind_port = ${port}
workers = 0
use_stderr = true
enabled_backends = ${stores.map((x) => `${storeOf(x)}:rbd`).join(", ")}
enabled_import_methods = [${methods.join(",")}]
show_multiple_locations = ${showLocations}
show_image_direct_url = ${showLocations}
image_size_cap = 17179869184
[database]
connection = ${dbUrl(s, "glance", "glance")}
${authtoken(s, "glance")}
[paste_deploy]
flavor = keystone
${opts.userFacing || opts.edge ? "config_file = /etc/glance/glance-api-paste.ini\n" : ""}[glance_store]
default_backend = ${storeOf(opts.edge?.defaultSite ?? opts.edge?.site ?? sites[0]!)}
${stores
  .map(
    (x) => `[${storeOf(x)}]
rbd_store_ceph_conf = /etc/ceph/${opts.foreignStores?.[x] ?? x}.conf
rbd_store_user = ${opts.profile?.user ?? "glance"}
rbd_store_pool = ${(opts.renamedPools ?? []).includes(x) ? RENAMED_POOLS.images : "images"}
rbd_store_chunk_size = 8
rbd_thin_provisioning = True
store_description = ${storeOf(x)} rbd glance store
`,
  )
  .join("\n")}
[os_glance_staging_store]
filesystem_store_datadir = ${data("glance", opts.edge ? `staging-${opts.edge.site}` : "staging")}
[os_glance_tasks_store]
filesystem_store_datadir = ${data("glance", opts.edge ? `tasks-${opts.edge.site}` : "tasks")}
[import_filtering_opts]
${
  opts.profile?.stockFilter
    ? "# NOTE: Glance's stock filter: ports 80 and 443, and no loopback or link-local address (get_validated_address)."
    : "allowed_ports = []\n# NOTE: Glance refuses web-download from loopback unless the host is listed here; the harness serves on 127.0.0.1.\nallowed_hosts = [127.0.0.1]"
}
[image_import_opts]
image_import_plugins = ${opts.noConversion ? "[]" : "['image_conversion']"}
[image_conversion]
output_format = raw
[oslo_concurrency]
lock_path = ${data("glance", opts.edge ? `lock-${opts.edge.site}` : "lock")}
${opts.userFacing ? `[oslo_policy]\npolicy_file = ${etc("glance-policy-hardened.yaml")}\n` : ""}`;
}

/** The port of fault glance-hardened's user-facing Glance API; the services' Glance keeps PORTS.glance. */
export const GLANCE_USER_PORT = 9293;

/**
 * The hardened Glance policy, as Glance's and Ceph's guides advise: image locations read and written by admin and the
 * service role only, metadef writes by admin only. Names from glance/policies/image.py and metadef.py (Glance 25).
 */
export const HARDENED_GLANCE_POLICY: Record<string, string> = {
  get_image_location: "role:admin or role:service",
  set_image_location: "role:admin or role:service",
  delete_image_location: "role:admin",
  metadef_admin: "role:admin",
  ...Object.fromEntries(
    [
      "add_metadef_namespace",
      "modify_metadef_namespace",
      "delete_metadef_namespace",
      "add_metadef_object",
      "modify_metadef_object",
      "delete_metadef_object",
      "add_metadef_property",
      "modify_metadef_property",
      "remove_metadef_property",
      "add_metadef_tag",
      "add_metadef_tags",
      "modify_metadef_tag",
      "delete_metadef_tag",
      "delete_metadef_tags",
      "add_metadef_resource_type_association",
      "remove_metadef_resource_type_association",
    ].map((n) => [n, "rule:metadef_admin"]),
  ),
};

/**
 * Fault glance-hardened: a second, user-facing glance-api (GLANCE_USER_PORT) on the same database and stores, with
 * locations off and the hardened policy, becomes the catalog's public image endpoint; the services' Glance (with
 * locations) stays the internal one, which Cinder (glance_catalog_info), Nova (valid_interfaces) and the lab's admin
 * cloud use. Off: the user-facing API stops and the public endpoint is the services' Glance again.
 * NOTE: Glance 25 checks get_image_location only on DELETE /v2/stores/<store>/<image>, never when it shows an image;
 * whether an image shows its locations is glance-api's show_multiple_locations / show_image_direct_url alone. So a
 * policy cannot hide them from users: a Glance API of their own without them does, as Glance's OSSN-0090 advises.
 */
export async function setGlanceHardened(state: LabState, s: LabSecrets, sites: string[], opts: GlanceOptions, on: boolean): Promise<void> {
  const admin = new LabAdmin(s.admin);
  const services = await admin.expect([200], "GET", `${KEYSTONE_URL}/services?type=image`);
  const service = (services.services as { id: string }[])[0];
  if (!service) throw new LabError("keystone has no image service", "keystone");
  const eps = await admin.expect([200], "GET", `${KEYSTONE_URL}/endpoints?service_id=${service.id}&interface=public`);
  const endpoint = (eps.endpoints as { id: string }[])[0];
  if (!endpoint) throw new LabError("keystone has no public image endpoint", "keystone");
  const url = `http://127.0.0.1:${on ? GLANCE_USER_PORT : PORTS.glance}`;
  if (on) {
    writeFileSync(
      etc("glance-policy-hardened.yaml"),
      `${Object.entries(HARDENED_GLANCE_POLICY)
        .map(([k, v]) => `"${k}": "${v}"`)
        .join("\n")}\n`,
    );
    const conf = etc("glance-api-user.conf");
    writeSecretFile(conf, glanceConf(s, sites, { ...opts, userFacing: true }));
    await ensureProcess(
      state,
      GLANCE_USER,
      ["glance-api", "--config-file", "/etc/glance/glance-api-paste.ini", "--config-file", conf],
      () => httpUp(`${url}/versions`),
      "GET /versions",
    );
  }
  await admin.expect([200], "PATCH", `${KEYSTONE_URL}/endpoints/${endpoint.id}`, { endpoint: { url } });
  if (!on) await stopProcess(state, GLANCE_USER);
}

/** The process name of fault glance-hardened's user-facing Glance API. */
export const GLANCE_USER = "glance-user";

export async function ensureGlance(
  state: LabState,
  s: LabSecrets,
  sites: string[],
  opts: GlanceOptions = {},
  restart = false,
  o: DbOnly = {},
): Promise<void> {
  if (o.dbOnly && state.done.includes("glance:db")) return;
  const conf = etc("glance-api.conf");
  const text = glanceConf(s, sites, opts);
  const changed = !existsSync(conf) || readFileSync(conf, "utf8") !== text;
  writeSecretFile(conf, text);
  if (!state.done.includes("glance:db")) {
    await run("glance", "glance-manage", ["--config-file", conf, "db_sync"]);
    state.done.push("glance:db");
    writeState(state);
  }
  if (o.dbOnly) return;
  if (restart || changed) await stopProcess(state, "glance");
  await ensureProcess(
    state,
    "glance",
    ["glance-api", "--config-file", "/etc/glance/glance-api-paste.ini", "--config-file", conf],
    () => httpUp(`http://127.0.0.1:${PORTS.glance}/versions`),
    "GET /versions",
  );
}

/** The port of an edge site's own Glance API (profile rhoso18): 9300 + the edge's index. */
export const edgeGlancePort = (sites: string[], site: string) => 9300 + sites.indexOf(site);
export const edgeGlanceName = (site: string) => `glance-edge-${site}`;

/**
 * One Glance API per edge site (RHOSO 18's `type: edge` glanceAPIs): the same database as central's, not in the
 * Keystone catalog, serving central's store and the edge's own, the edge's the default. `defaultCentral` lists the
 * edges whose API defaults to central's store instead (fault edge-glance-default-central).
 */
export async function ensureEdgeGlances(
  state: LabState,
  s: LabSecrets,
  sites: string[],
  opts: GlanceOptions,
  defaultCentral: string[],
): Promise<void> {
  for (const site of sites.slice(1)) {
    const name = edgeGlanceName(site);
    const conf = etc(`glance-api-${site}.conf`);
    const port = edgeGlancePort(sites, site);
    const text = glanceConf(s, sites, {
      ...opts,
      edge: { site, port, ...(defaultCentral.includes(site) ? { defaultSite: sites[0]! } : {}) },
    });
    const changed = !existsSync(conf) || readFileSync(conf, "utf8") !== text;
    writeSecretFile(conf, text);
    if (changed) await stopProcess(state, name);
    await ensureProcess(
      state,
      name,
      ["glance-api", "--config-file", "/etc/glance/glance-api-paste.ini", "--config-file", conf],
      () => httpUp(`http://127.0.0.1:${port}/versions`),
      "GET /versions",
    );
  }
}

/** Another edge's cluster for an edge (the next one, or central in a one-edge lab); dcn0's for central. */
const neighbour = (site: string, sites: string[]) => {
  const edges = sites.slice(1);
  if (site === sites[0]) return edges[0]!;
  return edges[edges.indexOf(site) + 1] ?? (edges.length > 1 ? edges[0]! : sites[0]!);
};

/** Glance as the state's faults and the profile have it. */
export function glanceOptions(state: LabState): GlanceOptions {
  const p = profileDef(state.profile);
  return {
    withoutStores: state.faults.filter((f) => f.kind === "store-missing").map((f) => f.site),
    hideLocations: state.faults.some((f) => f.kind === "no-locations"),
    noConversion: state.faults.some((f) => f.kind === "no-conversion"),
    renamedPools: state.faults.filter((f) => f.kind === "pools-renamed").map((f) => f.site),
    foreignStores: Object.fromEntries(
      state.faults.filter((f) => f.kind === "glance-store-foreign").map((f) => [f.site, neighbour(f.site, labSites(state))]),
    ),
    profile: { store: p.store, user: p.glance.user, importMethods: p.glance.importMethods, stockFilter: p.glance.stockFilter },
  };
}

/** Kills glance-api's process group with SIGKILL, as a crash would: its imports in flight are not cleaned up. */
export function killGlance(): void {
  const rec = readState()?.processes.glance;
  if (!rec) throw new LabError("glance-api is not recorded in the lab's state: is the lab up?");
  process.kill(-rec.pgid, "SIGKILL");
}

/** Starts glance-api again when it is not running, as 'lab up' does, and waits until it answers. */
export async function ensureGlanceUp(): Promise<void> {
  const state = readState();
  if (!state) throw new LabError("the lab is not up: run 'dcn-verify lab up' first");
  await ensureGlance(state, loadOrCreateSecrets(), labSites(state), glanceOptions(state));
}
