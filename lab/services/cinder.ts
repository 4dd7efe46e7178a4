import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { execa } from "execa";
import { RENAMED_POOLS } from "../ceph.ts";
import { labSites, profileDef } from "../profiles/index.ts";
import { isRunning, LabError, logPath, startProcess, stopProcess, waitUntil } from "../procs.ts";
import { type LabSecrets, type LabState, paths, writeSecretFile, writeState } from "../state.ts";
import {
  authtoken,
  data,
  dbUrl,
  type DbOnly,
  ensureProcess,
  etc,
  httpUp,
  PORTS,
  rabbitUrl,
  REPORT_S,
  run,
  SERVICE_DOWN_S,
  serviceAuth,
} from "./common.ts";
import { edgeGlancePort } from "./glance.ts";

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
