import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { RENAMED_POOLS } from "./ceph.ts";
import { KEYSTONE_URL, LabAdmin, REGION } from "./os-admin.ts";
import { labSites, profileDef } from "./profiles/index.ts";
import { isRunning, LabError, logPath, portOpen, sleep, startProcess, stopProcess, tail, waitUntil } from "./procs.ts";
import { type LabSecrets, type LabState, paths, REPO_ROOT, writeSecretFile, writeState } from "./state.ts";

/**
 * Cinder and Nova: how often a service reports, and after how long without a report it is down. Shorter than the
 * defaults (10 and 60 s) so that a lab fault that stops a service shows within seconds; four missed reports still
 * leave room for a busy two-core machine.
 */
const REPORT_S = 3;
const SERVICE_DOWN_S = 12;

const PY_SERVE = join(REPO_ROOT, "lab", "wsgi_serve.py");
const PY_COMPUTE = join(REPO_ROOT, "lab", "nova_compute.py");
const MYSQL_PORT = 3306;

export const PORTS = { keystone: 5000, glance: 9292, cinder: 8776, nova: 8774, placement: 8778, neutron: 9696 };

function etc(name: string): string {
  return join(paths().etc, name);
}

function data(...parts: string[]): string {
  const d = join(paths().data, ...parts);
  mkdirSync(d, { recursive: true, mode: 0o700 });
  return d;
}

function mysqlSocket(): string {
  return join(paths().run, "mysqld.sock");
}

function dbUrl(s: LabSecrets, user: string, db: string): string {
  return `mysql+pymysql://${user}:${s.db[user]}@127.0.0.1:${MYSQL_PORT}/${db}?charset=utf8`;
}

function rabbitUrl(s: LabSecrets): string {
  return `rabbit://openstack:${s.rabbit}@127.0.0.1:5672/`;
}

function serviceAuth(section: string, s: LabSecrets, user: string, extra = ""): string {
  return `[${section}]
auth_type = password
auth_url = http://127.0.0.1:5000
project_domain_name = Default
user_domain_name = Default
project_name = service
username = ${user}
password = ${s.services[user]}
region_name = ${REGION}
${extra}`;
}

function authtoken(s: LabSecrets, user: string): string {
  return serviceAuth("keystone_authtoken", s, user, "www_authenticate_uri = http://127.0.0.1:5000\nservice_token_roles_required = true\n");
}

async function run(service: string, cmd: string, args: string[], env: Record<string, string> = {}, timeout = 300000): Promise<string> {
  const r = await execa(cmd, args, { reject: false, timeout, env, cwd: paths().run });
  if (r.exitCode !== 0) {
    const out = `${r.stdout}\n${r.stderr}`.trim().split("\n").slice(-25).join("\n");
    throw new LabError(`${service}: ${cmd} ${args.slice(0, 4).join(" ")}… failed (exit ${r.exitCode}):\n${out}`, service);
  }
  return r.stdout;
}

async function httpUp(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return r.status < 500;
  } catch {
    return false;
  }
}

async function ensureProcess(
  state: LabState,
  name: string,
  argv: string[],
  ready: () => Promise<boolean>,
  what: string,
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<void> {
  if (isRunning(state.processes[name]) && (await ready().catch(() => false))) return;
  if (state.processes[name]) await stopProcess(state, name);
  const rec = startProcess(state, name, argv, { env: opts.env });
  await waitUntil(name, what, ready, opts.timeoutMs ?? 120000, rec);
}

// ---------------------------------------------------------------- MariaDB

export async function ensureMariadb(state: LabState, s: LabSecrets): Promise<void> {
  const datadir = join(paths().data, "mysql");
  if (!existsSync(join(datadir, "mysql"))) {
    mkdirSync(datadir, { recursive: true, mode: 0o700 });
    await run("mariadb", "mariadb-install-db", [
      "--no-defaults",
      "--user=root",
      `--datadir=${datadir}`,
      "--auth-root-authentication-method=socket",
      "--skip-test-db",
    ]);
  }
  await ensureProcess(
    state,
    "mariadb",
    [
      "mariadbd",
      "--no-defaults",
      "--user=root",
      `--datadir=${datadir}`,
      `--socket=${mysqlSocket()}`,
      "--bind-address=127.0.0.1",
      `--port=${MYSQL_PORT}`,
      `--pid-file=${join(paths().run, "mysqld.pid")}`,
      "--max-connections=2000",
      "--innodb-buffer-pool-size=128M",
      // NOTE: the lab's data lives no longer than its in-memory Ceph: a commit need not wait on the disk.
      "--innodb-flush-log-at-trx-commit=0",
      "--innodb-doublewrite=0",
      "--skip-name-resolve",
      "--character-set-server=utf8mb4",
      "--collation-server=utf8mb4_general_ci",
      `--log-error=${logPath("mariadb-error")}`,
    ],
    () => portOpen(MYSQL_PORT),
    "port 3306",
  );
  if (!state.done.includes("db:users")) {
    const sql = Object.entries(s.db).flatMap(([user, pw]) => {
      const dbs = user === "nova" ? ["nova", "nova_api", "nova_cell0"] : [user];
      return [
        ...dbs.map((db) => `CREATE DATABASE IF NOT EXISTS ${db};`),
        `CREATE USER IF NOT EXISTS '${user}'@'127.0.0.1' IDENTIFIED BY '${pw}';`,
        `ALTER USER '${user}'@'127.0.0.1' IDENTIFIED BY '${pw}';`,
        ...dbs.map((db) => `GRANT ALL PRIVILEGES ON ${db}.* TO '${user}'@'127.0.0.1';`),
      ];
    });
    const r = await execa("mariadb", [`--socket=${mysqlSocket()}`, "-u", "root"], { input: sql.join("\n"), reject: false });
    if (r.exitCode !== 0) throw new LabError(`mariadb: creating databases failed: ${r.stderr}`, "mariadb");
    state.done.push("db:users");
    writeState(state);
  }
}

// ---------------------------------------------------------------- RabbitMQ

function rabbitEnv(): Record<string, string> {
  const base = data("rabbitmq");
  return {
    HOME: base,
    RABBITMQ_NODENAME: "rabbit@localhost",
    RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1",
    RABBITMQ_NODE_PORT: "5672",
    RABBITMQ_DIST_PORT: "25672",
    RABBITMQ_MNESIA_BASE: join(base, "mnesia"),
    RABBITMQ_LOG_BASE: join(paths().logs, "rabbitmq"),
    RABBITMQ_CONFIG_FILE: etc("rabbitmq"),
    RABBITMQ_ENABLED_PLUGINS_FILE: etc("rabbitmq-enabled-plugins"),
    RABBITMQ_PID_FILE: join(paths().run, "rabbitmq.pid"),
    ERL_EPMD_ADDRESS: "127.0.0.1",
    ERL_EPMD_PORT: "4369",
    RABBITMQ_ALLOW_INPUT: "",
  };
}

async function rabbitctl(...args: string[]) {
  return execa("/usr/lib/rabbitmq/bin/rabbitmqctl", args, { env: rabbitEnv(), reject: false, timeout: 60000 });
}

export async function ensureRabbit(state: LabState, s: LabSecrets): Promise<void> {
  writeFileSync(etc("rabbitmq.conf"), "listeners.tcp.default = 127.0.0.1:5672\nloopback_users = none\n");
  writeFileSync(etc("rabbitmq-enabled-plugins"), "[].\n");
  await ensureProcess(state, "epmd", ["epmd", "-address", "127.0.0.1", "-port", "4369"], () => portOpen(4369), "port 4369");
  await ensureProcess(state, "rabbitmq", ["/usr/lib/rabbitmq/bin/rabbitmq-server"], () => portOpen(5672), "port 5672", {
    env: rabbitEnv(),
    timeoutMs: 120000,
  });
  if (!state.done.includes("rabbit:user")) {
    await waitUntil("rabbitmq", "rabbitmqctl status", async () => (await rabbitctl("status")).exitCode === 0, 60000);
    const add = await rabbitctl("add_user", "openstack", s.rabbit);
    if (add.exitCode !== 0 && !/already exists/.test(add.stderr))
      throw new LabError(`rabbitmq: add_user failed: ${add.stderr}`, "rabbitmq");
    const perm = await rabbitctl("set_permissions", "openstack", ".*", ".*", ".*");
    if (perm.exitCode !== 0) throw new LabError(`rabbitmq: set_permissions failed: ${perm.stderr}`, "rabbitmq");
    state.done.push("rabbit:user");
    writeState(state);
  }
}

// ---------------------------------------------------------------- Keystone

function serve(app: string, port: number, extra: string[] = []): string[] {
  return ["/usr/bin/python3", PY_SERVE, "--host", "127.0.0.1", "--port", String(port), "--app", app, ...extra];
}

export async function ensureKeystone(state: LabState, s: LabSecrets): Promise<void> {
  const conf = etc("keystone.conf");
  // NOTE: uncached, each token request or validation cost Keystone about 0.3 CPU-seconds on a 2-core lab (a fifth of a
  // core through the lab tests); one process, so an in-process cache stands in for a deployment's memcached. bcrypt's
  // default 12 rounds cost 0.25 s a login: the lab's passwords are random 24-character secrets.
  writeSecretFile(
    conf,
    `[DEFAULT]
use_stderr = true
[database]
connection = ${dbUrl(s, "keystone", "keystone")}
[identity]
password_hash_rounds = 4
[cache]
enabled = true
backend = dogpile.cache.memory
[token]
provider = fernet
expiration = 3600
[fernet_tokens]
key_repository = ${data("keystone", "fernet-keys")}
[credential]
key_repository = ${data("keystone", "credential-keys")}
`,
  );
  const env = { OS_KEYSTONE_CONFIG_FILES: conf };
  if (!state.done.includes("keystone:bootstrap")) {
    await run("keystone", "keystone-manage", ["--config-file", conf, "db_sync"]);
    for (const setup of ["fernet_setup", "credential_setup"]) {
      await run("keystone", "keystone-manage", ["--config-file", conf, setup, "--keystone-user", "root", "--keystone-group", "root"]);
    }
    await run("keystone", "keystone-manage", [
      "--config-file",
      conf,
      "bootstrap",
      "--bootstrap-password",
      s.admin,
      "--bootstrap-admin-url",
      `${KEYSTONE_URL}/`,
      "--bootstrap-internal-url",
      `${KEYSTONE_URL}/`,
      "--bootstrap-public-url",
      `${KEYSTONE_URL}/`,
      "--bootstrap-region-id",
      REGION,
    ]);
    state.done.push("keystone:bootstrap");
    writeState(state);
  }
  await ensureProcess(
    state,
    "keystone",
    serve("keystone.server.wsgi:initialize_public_application", PORTS.keystone),
    () => httpUp(`${KEYSTONE_URL}`),
    "GET /v3",
    { env },
  );
}

const SERVICES: { name: string; type: string; user?: string; url: string }[] = [
  { name: "glance", type: "image", user: "glance", url: `http://127.0.0.1:${PORTS.glance}` },
  { name: "cinderv3", type: "volumev3", user: "cinder", url: `http://127.0.0.1:${PORTS.cinder}/v3/%(project_id)s` },
  { name: "cinder", type: "block-storage", url: `http://127.0.0.1:${PORTS.cinder}/v3/%(project_id)s` },
  { name: "nova", type: "compute", user: "nova", url: `http://127.0.0.1:${PORTS.nova}/v2.1` },
  { name: "placement", type: "placement", user: "placement", url: `http://127.0.0.1:${PORTS.placement}` },
  { name: "neutron", type: "network", user: "neutron", url: `http://127.0.0.1:${PORTS.neutron}` },
];

async function findOrCreate(admin: LabAdmin, coll: string, key: string, name: string, body: Record<string, unknown>): Promise<string> {
  const list = await admin.expect([200], "GET", `${KEYSTONE_URL}/${coll}?name=${encodeURIComponent(name)}`);
  const found = (list[coll] as { id: string; name: string }[]).find((x) => x.name === name);
  if (found) return found.id;
  const created = await admin.expect([201], "POST", `${KEYSTONE_URL}/${coll}`, { [key]: { name, ...body } });
  return created[key].id;
}

export const MEMBER_USER = "dcnv-member";
export const MEMBER_PROJECT = "dcnv-demo";

/** A user with only the member role, in a project of its own: what the policy checks run as. */
export async function ensureMemberUser(state: LabState, s: LabSecrets): Promise<void> {
  if (state.done.includes("keystone:member")) return;
  const admin = new LabAdmin(s.admin);
  await admin.login();
  const project = await findOrCreate(admin, "projects", "project", MEMBER_PROJECT, {
    domain_id: "default",
    description: "dcn-verify policy checks",
  });
  const role = await findOrCreate(admin, "roles", "role", "member", {});
  const user = await findOrCreate(admin, "users", "user", MEMBER_USER, { domain_id: "default", password: s.member });
  await admin.expect([200, 204], "PATCH", `${KEYSTONE_URL}/users/${user}`, { user: { password: s.member } });
  await admin.expect([201, 204], "PUT", `${KEYSTONE_URL}/projects/${project}/users/${user}/roles/${role}`);
  state.done.push("keystone:member");
  writeState(state);
}

export async function registerCatalog(state: LabState, s: LabSecrets): Promise<void> {
  if (state.done.includes("keystone:catalog")) return;
  const admin = new LabAdmin(s.admin);
  await admin.login();
  const project = await findOrCreate(admin, "projects", "project", "service", { domain_id: "default", description: "services" });
  const adminRole = await findOrCreate(admin, "roles", "role", "admin", {});
  const serviceRole = await findOrCreate(admin, "roles", "role", "service", {});
  for (const svc of SERVICES) {
    if (svc.user) {
      const user = await findOrCreate(admin, "users", "user", svc.user, { domain_id: "default", password: s.services[svc.user] });
      await admin.expect([200, 204], "PATCH", `${KEYSTONE_URL}/users/${user}`, { user: { password: s.services[svc.user] } });
      for (const role of [adminRole, serviceRole])
        await admin.expect([201, 204], "PUT", `${KEYSTONE_URL}/projects/${project}/users/${user}/roles/${role}`);
    }
    const serviceId = await findOrCreate(admin, "services", "service", svc.name, { type: svc.type, enabled: true });
    const existing = await admin.expect([200], "GET", `${KEYSTONE_URL}/endpoints?service_id=${serviceId}`);
    for (const iface of ["public", "internal", "admin"]) {
      if ((existing.endpoints as { interface: string }[]).some((e) => e.interface === iface)) continue;
      // NOTE: creating an endpoint right after its service can race; retry.
      for (let attempt = 0; ; attempt++) {
        const r = await admin.request("POST", `${KEYSTONE_URL}/endpoints`, {
          endpoint: { service_id: serviceId, interface: iface, url: svc.url, region_id: REGION },
        });
        if (r.status === 201) break;
        if (attempt >= 5) throw new LabError(`keystone: endpoint ${svc.name}/${iface}: HTTP ${r.status}`, "keystone");
        await sleep(500);
      }
    }
  }
  state.done.push("keystone:catalog");
  writeState(state);
}

// ---------------------------------------------------------------- Placement

/** dbOnly: the config and the database migration, no process; nothing when the migration was done before. */
export interface DbOnly {
  dbOnly?: boolean;
}

export async function ensurePlacement(state: LabState, s: LabSecrets, o: DbOnly = {}): Promise<void> {
  if (o.dbOnly && state.done.includes("placement:db")) return;
  const dir = data("placement-etc");
  writeSecretFile(
    join(dir, "placement.conf"),
    `[DEFAULT]
use_stderr = true
[placement_database]
connection = ${dbUrl(s, "placement", "placement")}
[api]
auth_strategy = keystone
${authtoken(s, "placement")}`,
  );
  if (!state.done.includes("placement:db")) {
    await run("placement", "placement-manage", ["--config-file", join(dir, "placement.conf"), "db", "sync"]);
    state.done.push("placement:db");
    writeState(state);
  }
  if (o.dbOnly) return;
  await ensureProcess(
    state,
    "placement",
    serve("placement.wsgi:init_application", PORTS.placement),
    () => httpUp(`http://127.0.0.1:${PORTS.placement}/`),
    "GET /",
    {
      env: { OS_PLACEMENT_CONFIG_DIR: dir },
    },
  );
}

// ---------------------------------------------------------------- Glance

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

/**
 * Restarts cinder-api and the sites' cinder-volume when they run with a cinder.conf older than glance_catalog_info's
 * internal endpoint (a lab brought up before it), so that they clone through the services' Glance.
 */
export async function ensureCinderOnInternalGlance(
  state: LabState,
  s: LabSecrets,
  sites: string[],
  skipVolume: string[],
): Promise<boolean> {
  const conf = etc("cinder.conf");
  if (existsSync(conf) && readFileSync(conf, "utf8").includes("glance_catalog_info = image:glance:internalURL")) return false;
  await stopProcess(state, "cinder-api");
  for (const site of sites) await stopProcess(state, cinderVolumeName(site));
  await ensureCinder(state, s, sites, skipVolume);
  return true;
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

// ---------------------------------------------------------------- Cinder

/** The AZ the volume-az-fallback fault gives a site's backend: the site's own AZ is then gone from Cinder. */
export const renamedAz = (site: string) => `${site}-renamed`;

/** Cinder's cephx users and each site's backend name, as the lab's profile gives them. */
export function cinderCeph(state: LabState): { user: string; backupUser: string; backend: (site: string) => string } {
  const p = profileDef(state.profile);
  return { user: p.cinder.user, backupUser: p.cinder.backupUser, backend: p.store };
}

function cinderConf(s: LabSecrets, sites: string[], fallback: boolean, ceph: ReturnType<typeof cinderCeph>): string {
  return `[DEFAULT]
use_stderr = true
transport_url = ${rabbitUrl(s)}
auth_strategy = keystone
my_ip = 127.0.0.1
host = cinder
osapi_volume_listen = 127.0.0.1
osapi_volume_listen_port = ${PORTS.cinder}
osapi_volume_workers = 1
enabled_backends = ${sites.map(ceph.backend).join(",")}
glance_api_version = 2
# NOTE: the services' Glance is the catalog's internal endpoint: with fault glance-hardened the public one shows no locations.
glance_catalog_info = image:glance:internalURL
allow_availability_zone_fallback = ${fallback ? "True" : "False"}
az_cache_duration = 10
storage_availability_zone = ${sites[0]}
default_availability_zone = ${sites[0]}
state_path = ${data("cinder")}
image_conversion_dir = ${data("cinder", "conversion")}
service_down_time = ${SERVICE_DOWN_S}
report_interval = ${REPORT_S}
periodic_interval = 10
enable_force_upload = True
backup_driver = cinder.backup.drivers.ceph.CephBackupDriver
backup_ceph_conf = /etc/ceph/${sites[0]}.conf
backup_ceph_user = ${ceph.backupUser}
backup_ceph_pool = backups
[database]
connection = ${dbUrl(s, "cinder", "cinder")}
${authtoken(s, "cinder")}
${serviceAuth("nova", s, "cinder", "interface = public\n")}
${serviceAuth("service_user", s, "cinder", "send_service_user_token = true\n")}
[oslo_concurrency]
lock_path = ${data("cinder", "lock")}
${sites
  .map(
    (x) => `[${ceph.backend(x)}]
volume_driver = cinder.volume.drivers.rbd.RBDDriver
volume_backend_name = ${ceph.backend(x)}
rbd_cluster_name = ${x}
rbd_ceph_conf = /etc/ceph/${x}.conf
rbd_pool = volumes
rbd_user = ${ceph.user}
rbd_flatten_volume_from_snapshot = False
rbd_max_clone_depth = 5
backend_availability_zone = ${x}
image_volume_cache_enabled = False
report_discard_supported = True
`,
  )
  .join("\n")}`;
}

/** The cluster the cinder-foreign fault sends a site's backend to: central's, or the first edge's for central. */
export const foreignCluster = (site: string, sites: string[]) => (site === sites[0] ? sites[1]! : sites[0]!);

export function cinderVolumeName(site: string): string {
  return `cinder-volume-${site}`;
}

export async function startCinderVolume(state: LabState, site: string): Promise<void> {
  const siteConf = etc(`cinder-volume-${site}.conf`);
  const renamed = state.faults.some((f) => f.site === site && f.kind === "pools-renamed");
  const sites = labSites(state);
  const foreign = state.faults.some((f) => f.site === site && f.kind === "cinder-foreign") ? foreignCluster(site, sites) : undefined;
  const azGone = state.faults.some((f) => f.site === site && f.kind === "volume-az-fallback");
  const p = profileDef(state.profile);
  const backend = p.store(site);
  // NOTE: RHOSO 18's Cinder at an edge talks to that edge's own Glance API (glance_api_servers), not the catalog's.
  const edgeGlance = p.glance.edgeApis && site !== sites[0] ? `http://127.0.0.1:${edgeGlancePort(sites, site)}` : undefined;
  const text = [
    `[DEFAULT]`,
    `enabled_backends = ${backend}`,
    ...(edgeGlance ? [`glance_api_servers = ${edgeGlance}`] : []),
    `[${backend}]`,
    ...(renamed ? [`rbd_pool = ${RENAMED_POOLS.volumes}`] : []),
    ...(foreign ? [`rbd_cluster_name = ${foreign}`, `rbd_ceph_conf = /etc/ceph/${foreign}.conf`] : []),
    ...(azGone ? [`backend_availability_zone = ${renamedAz(site)}`] : []),
    "",
  ].join("\n");
  writeFileSync(siteConf, text);
  if (isRunning(state.processes[cinderVolumeName(site)])) return;
  startProcess(state, cinderVolumeName(site), ["cinder-volume", "--config-file", etc("cinder.conf"), "--config-file", siteConf]);
}

export async function ensureCinder(
  state: LabState,
  s: LabSecrets,
  sites: string[],
  skipVolume: string[] = [],
  o: DbOnly = {},
): Promise<void> {
  if (o.dbOnly && state.done.includes("cinder:db")) return;
  const conf = etc("cinder.conf");
  writeSecretFile(
    conf,
    cinderConf(
      s,
      sites,
      state.faults.some((f) => f.kind === "volume-az-fallback"),
      cinderCeph(state),
    ),
  );
  if (!state.done.includes("cinder:db")) {
    await run("cinder", "cinder-manage", ["--config-file", conf, "db", "sync"]);
    state.done.push("cinder:db");
    writeState(state);
  }
  if (o.dbOnly) return;
  await ensureProcess(
    state,
    "cinder-api",
    ["cinder-api", "--config-file", conf],
    () => httpUp(`http://127.0.0.1:${PORTS.cinder}/`),
    "GET /",
  );
  // NOTE: the scheduler logs each capability report of a backup service at DEBUG only; that one logger is raised
  // so that a lab knows when a backup service it started can take backups (no API shows the reports).
  const schedulerConf = etc("cinder-scheduler.conf");
  writeFileSync(
    schedulerConf,
    `[DEFAULT]\ndefault_log_levels = ${[...OSLO_LOG_LEVELS, "cinder.scheduler.host_manager=DEBUG"].join(",")}\n`,
  );
  const schedulerArgv = ["cinder-scheduler", "--config-file", conf, "--config-file", schedulerConf];
  const scheduler = state.processes["cinder-scheduler"];
  if (isRunning(scheduler) && JSON.stringify(scheduler!.argv) !== JSON.stringify(schedulerArgv))
    await stopProcess(state, "cinder-scheduler");
  if (!isRunning(state.processes["cinder-scheduler"])) startProcess(state, "cinder-scheduler", schedulerArgv);
  const schedulerLog = logPath("cinder-scheduler");
  const logMark = existsSync(schedulerLog) ? statSync(schedulerLog).size : 0;
  // NOTE: Cinder schedules a backup on a backup service in the volume's AZ, so each site runs one; but it sends
  // restores and deletions to any backup service (the backup records no AZ), so all of them write to one cluster,
  // central's, where any of them finds every backup.
  const started: string[] = [];
  for (const site of profileDef(state.profile).cinder.backupSites(sites)) {
    const name = `cinder-backup-${site}`;
    const siteConf = etc(`${name}.conf`);
    writeFileSync(
      siteConf,
      [
        "[DEFAULT]",
        `host = backup-${site}`,
        `storage_availability_zone = ${site}`,
        `backup_ceph_conf = /etc/ceph/${sites[0]}.conf`,
        "backup_driver_stats_polling_interval = 10",
        "periodic_interval = 5",
        "periodic_fuzzy_delay = 0",
        "",
      ].join("\n"),
    );
    if (isRunning(state.processes[name])) continue;
    startProcess(state, name, ["cinder-backup", "--config-file", conf, "--config-file", siteConf]);
    started.push(site);
  }
  for (const site of sites) if (!skipVolume.includes(site)) await startCinderVolume(state, site);
  // NOTE: the scheduler only places backups on services that have reported their capabilities (every 10 s here).
  if (started.length)
    await waitUntil(
      "cinder-scheduler",
      `a capability report from backup-${started.join(", backup-")}`,
      async () => {
        const fresh = readFileSync(schedulerLog).subarray(logMark).toString();
        return started.every((site) => fresh.includes(`Received backup service update from backup-${site}:`));
      },
      120000,
    );
}

/** oslo.log's default levels for the libraries the services use: a service's default_log_levels replaces them whole. */
const OSLO_LOG_LEVELS = [
  "amqp=WARN",
  "amqplib=WARN",
  "boto=WARN",
  "qpid=WARN",
  "sqlalchemy=WARN",
  "suds=INFO",
  "oslo.messaging=INFO",
  "oslo_messaging=INFO",
  "iso8601=WARN",
  "requests.packages.urllib3.connectionpool=WARN",
  "urllib3.connectionpool=WARN",
  "websocket=WARN",
  "requests.packages.urllib3.util.retry=WARN",
  "urllib3.util.retry=WARN",
  "keystonemiddleware=WARN",
  "routes.middleware=WARN",
  "stevedore=WARN",
  "taskflow=WARN",
  "keystoneauth=WARN",
  "oslo.cache=INFO",
  "oslo_policy=INFO",
  "dogpile.core.dogpile=INFO",
];

// ---------------------------------------------------------------- Neutron

export async function ensureNeutron(state: LabState, s: LabSecrets, o: DbOnly = {}): Promise<void> {
  if (o.dbOnly && state.done.includes("neutron:db")) return;
  const conf = etc("neutron.conf");
  const ml2 = etc("ml2_conf.ini");
  writeSecretFile(
    conf,
    `[DEFAULT]
use_stderr = true
core_plugin = ml2
service_plugins = router,port_forwarding
auth_strategy = keystone
bind_host = 127.0.0.1
bind_port = ${PORTS.neutron}
api_workers = 0
rpc_workers = 0
rpc_state_report_workers = 0
transport_url = ${rabbitUrl(s)}
notify_nova_on_port_status_changes = False
notify_nova_on_port_data_changes = False
state_path = ${data("neutron")}
[database]
connection = ${dbUrl(s, "neutron", "neutron")}
${authtoken(s, "neutron")}
[oslo_concurrency]
lock_path = ${data("neutron", "lock")}
`,
  );
  writeFileSync(
    ml2,
    `[ml2]
type_drivers = flat
tenant_network_types =
mechanism_drivers =
extension_drivers =
`,
  );
  if (!state.done.includes("neutron:db")) {
    await run("neutron", "neutron-db-manage", ["--config-file", conf, "--config-file", ml2, "upgrade", "heads"], {}, 600000);
    state.done.push("neutron:db");
    writeState(state);
  }
  if (o.dbOnly) return;
  await ensureProcess(
    state,
    "neutron",
    ["neutron-server", "--config-file", conf, "--config-file", ml2],
    () => httpUp(`http://127.0.0.1:${PORTS.neutron}/`),
    "GET /",
    { timeoutMs: 180000 },
  );
  // NOTE: neutron's get_ports reads the Port.port_forwardings backref, which SQLAlchemy adds only once
  // the mappers are configured by a first query; with no agents, a server show would be that first
  // query and fail with HTTP 500. One list of networks configures them.
  await new LabAdmin(s.admin).expect([200], "GET", `http://127.0.0.1:${PORTS.neutron}/v2.0/networks`);
}

// ---------------------------------------------------------------- Nova

function novaConf(s: LabSecrets): string {
  return `[DEFAULT]
use_stderr = true
transport_url = ${rabbitUrl(s)}
my_ip = 127.0.0.1
state_path = ${data("nova")}
compute_driver = fake.FakeDriver
enabled_apis = osapi_compute
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = ${PORTS.nova}
osapi_compute_workers = 1
service_down_time = ${SERVICE_DOWN_S}
report_interval = ${REPORT_S}
[api]
auth_strategy = keystone
[api_database]
connection = ${dbUrl(s, "nova", "nova_api")}
[database]
connection = ${dbUrl(s, "nova", "nova")}
${authtoken(s, "nova")}
${serviceAuth("placement", s, "placement")}
${serviceAuth("neutron", s, "neutron")}
${serviceAuth("service_user", s, "nova", "send_service_user_token = true\n")}
[cinder]
cross_az_attach = False
os_region_name = ${REGION}
[glance]
region_name = ${REGION}
[scheduler]
discover_hosts_in_cells_interval = -1
workers = 1
[conductor]
workers = 1
[wsgi]
api_paste_config = /etc/nova/api-paste.ini
[vnc]
enabled = False
[oslo_concurrency]
lock_path = ${data("nova", "lock")}
[oslo_policy]
policy_file = ${etc("nova-policy.yaml")}
`;
}

/**
 * Nova's policy overrides: none, or (fault host-hidden) the server's host and the AZs' host lists denied to
 * everyone, as a cloud whose policy keeps them from the harness's user. oslo.policy reloads the file when it changes.
 */
export function writeNovaPolicy(hostHidden: boolean): void {
  const rules = hostHidden
    ? ['"os_compute_api:os-extended-server-attributes": "!"', '"os_compute_api:os-availability-zone:detail": "!"']
    : [];
  writeFileSync(etc("nova-policy.yaml"), rules.length ? `${rules.join("\n")}\n` : "{}\n");
}

export function computeName(site: string): string {
  return `nova-compute-${site}`;
}

export function computeHost(site: string): string {
  return `compute-${site}`;
}

export function startCompute(state: LabState, site: string): void {
  const siteConf = etc(`nova-compute-${site}.conf`);
  writeFileSync(siteConf, `[DEFAULT]\nhost = ${computeHost(site)}\ninstances_path = ${data("nova", "instances", site)}\n`);
  if (isRunning(state.processes[computeName(site)])) return;
  startProcess(state, computeName(site), ["/usr/bin/python3", PY_COMPUTE, "--config-file", etc("nova.conf"), "--config-file", siteConf]);
}

export async function ensureNovaDb(state: LabState, s: LabSecrets): Promise<void> {
  const conf = etc("nova.conf");
  writeSecretFile(conf, novaConf(s));
  writeNovaPolicy(state.faults.some((f) => f.kind === "host-hidden"));
  if (state.done.includes("nova:db")) return;
  await run("nova", "nova-manage", ["--config-file", conf, "api_db", "sync"]);
  await run("nova", "nova-manage", [
    "--config-file",
    conf,
    "cell_v2",
    "map_cell0",
    "--database_connection",
    dbUrl(s, "nova", "nova_cell0"),
  ]);
  const cells = await run("nova", "nova-manage", ["--config-file", conf, "cell_v2", "list_cells"]);
  if (!/\bcell1\b/.test(cells)) await run("nova", "nova-manage", ["--config-file", conf, "cell_v2", "create_cell", "--name", "cell1"]);
  await run("nova", "nova-manage", ["--config-file", conf, "db", "sync"]);
  state.done.push("nova:db");
  writeState(state);
}

export async function ensureNova(state: LabState, s: LabSecrets, sites: string[], skipCompute: string[] = []): Promise<void> {
  const conf = etc("nova.conf");
  await ensureNovaDb(state, s);
  // NOTE: the conductor, the scheduler and the computes start while the API does: none of them calls it.
  if (!isRunning(state.processes["nova-conductor"])) startProcess(state, "nova-conductor", ["nova-conductor", "--config-file", conf]);
  if (!isRunning(state.processes["nova-scheduler"])) startProcess(state, "nova-scheduler", ["nova-scheduler", "--config-file", conf]);
  for (const site of sites) if (!skipCompute.includes(site)) startCompute(state, site);
  // NOTE: nova's API monkey-patches eventlet on import, so it runs under its own eventlet server, not a threaded one.
  await ensureProcess(state, "nova-api", ["nova-api", "--config-file", conf], () => httpUp(`http://127.0.0.1:${PORTS.nova}/`), "GET /");
}

export async function discoverHosts(): Promise<void> {
  await run("nova", "nova-manage", ["--config-file", etc("nova.conf"), "cell_v2", "discover_hosts"]);
}

export function serviceLogTail(name: string): string {
  return tail(logPath(name));
}

/** Removes Cinder's records of services a reshape renamed or dropped (`cinder-manage service remove`). */
export async function forgetCinderServices(services: { binary: "cinder-volume" | "cinder-backup"; host: string }[]): Promise<void> {
  await Promise.all(
    services.map(async (s) => {
      const r = await execa("cinder-manage", ["--config-file", etc("cinder.conf"), "service", "remove", s.binary, s.host], {
        reject: false,
        timeout: 60000,
        cwd: paths().run,
      });
      // NOTE: cinder-manage prints "Host not found" and exits 2 for a service it never recorded.
      if (r.exitCode !== 0 && !/not found/i.test(`${r.stdout}${r.stderr}`))
        throw new LabError(`cinder-manage service remove ${s.binary} ${s.host} failed: ${(r.stderr || r.stdout).trim()}`, "cinder");
    }),
  );
}
