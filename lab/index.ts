import { existsSync, readFileSync, rmSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { parse, stringify } from "yaml";
import { settleAll } from "../helpers/core/concurrency.ts";
import { ensureCluster, osdLost, removeCluster, thawMon, thawOsd } from "./ceph.ts";
import {
  cinderVolumeName,
  computeName,
  discoverHosts,
  ensureCinder,
  ensureGlance,
  ensureKeystone,
  ensureMariadb,
  ensureMemberUser,
  ensureNeutron,
  ensureNova,
  ensureNovaDb,
  ensurePlacement,
  ensureRabbit,
  type GlanceOptions,
  MEMBER_PROJECT,
  MEMBER_USER,
  registerCatalog,
  ensureEdgeGlances,
  edgeGlanceName,
  forgetCinderServices,
  edgeGlancePort,
} from "./openstack.ts";
import { KEYSTONE_URL, LabAdmin, REGION } from "./os-admin.ts";
import { isRunning, LabError, sleep, startProcess, stopProcess, waitUntil } from "./procs.ts";
import {
  ensureAggregates,
  ensureFlavor,
  ensureQuotas,
  ensureVolumeTypes,
  ensureOperatorImages,
  removeOperatorImages,
  removeSites,
  heldResources,
  resetQuotas,
  LAB_FLAVOR,
  waitForComputes,
} from "./provision.ts";
import {
  ensureDirs,
  FAULT_KINDS,
  type FaultKind,
  type LabProfile,
  type LabSecrets,
  type LabState,
  loadOrCreateSecrets,
  paths,
  REPO_ROOT,
  readState,
  writeSecretFile,
  writeState,
} from "./state.ts";
import { type LabStatus, labStatus } from "./status.ts";
import { ensureCephadmAccess, removeCephadmAccess } from "./cephadm.ts";
import { removeKollaConfig, writeKollaConfig } from "./kolla-config.ts";
import { FAULTS, type FaultContext, type HealAfter } from "./faults.ts";
import { faultOwners, labSites, type LabProfileDef, PROFILE_DEFS, profileDef } from "./profiles/index.ts";
import { applyOverlay } from "../helpers/config/overlay.ts";

const PACKAGES = [
  "ceph-mon",
  "ceph-osd",
  "ceph-common",
  "python3-rbd",
  "python3-rados",
  "mariadb-server",
  "python3-pymysql",
  "rabbitmq-server",
  "keystone",
  "glance-api",
  "cinder-api",
  "cinder-scheduler",
  "cinder-volume",
  "cinder-backup",
  "nova-api",
  "nova-conductor",
  "nova-scheduler",
  "python3-nova",
  "placement-api",
  "neutron-server",
  "python3-openstackclient",
  "python3-glanceclient",
  "python3-cinderclient",
  "python3-novaclient",
  "qemu-utils",
];

/** The cephadm profiles reach each site's Ceph through an OpenSSH server, as a user who may only sudo cephadm. */
const SSH_PACKAGES = ["openssh-server", "sudo"];

/**
 * What only the harness's own tests need: Debian's headless Chromium opens the per-site Allure reports; the ssh
 * transport's unit tests log in to OpenSSH servers on loopback (lab/sshd.ts); buildah and mmdebstrap build the
 * container image (container/); promtool checks the metrics, and Prometheus with a Pushgateway reads them back.
 */
const TEST_PACKAGES = ["chromium", ...SSH_PACKAGES, "buildah", "mmdebstrap", "prometheus", "prometheus-pushgateway"];

function log(msg: string): void {
  process.stderr.write(`lab: ${msg}\n`);
}

/**
 * Installs what is missing of the Debian packages a lab of the profile needs (apt, as root); with tests, also
 * what the harness's own tests need.
 */
export async function ensurePackages(o: { profile?: LabProfile; tests?: boolean } = {}): Promise<void> {
  const ssh = profileDef(o.profile).access.kind === "cephadm";
  const wanted = [...new Set([...PACKAGES, ...(ssh ? SSH_PACKAGES : []), ...(o.tests ? TEST_PACKAGES : [])])];
  // NOTE: the ${...} are dpkg-query's own format fields.
  const q = await execa("dpkg-query", ["-W", "-f=${Package} ${db:Status-Status}\n", ...wanted], { reject: false });
  const installed = new Set(
    q.stdout
      .split("\n")
      .filter((l) => l.endsWith(" installed"))
      .map((l) => l.split(" ")[0]),
  );
  const missing = wanted.filter((p) => !installed.has(p));
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) throw new LabError(`missing Debian packages (${missing.join(" ")}); run lab up as root`);
  log(`installing ${missing.length} Debian packages: ${missing.join(" ")}`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  const upd = await execa("apt-get", ["update", "-q"], { env, reject: false });
  if (upd.exitCode !== 0) throw new LabError(`apt-get update failed:\n${upd.stderr.split("\n").slice(-10).join("\n")}`, "apt");
  const inst = await execa(
    "apt-get",
    [
      "install",
      "-y",
      "-q",
      "--no-install-recommends",
      "-o",
      "Dpkg::Options::=--force-confdef",
      "-o",
      "Dpkg::Options::=--force-confold",
      ...missing,
    ],
    { env, reject: false },
  );
  if (inst.exitCode !== 0)
    throw new LabError(`apt-get install failed:\n${(inst.stdout + inst.stderr).split("\n").slice(-20).join("\n")}`, "apt");
}

function newState(edges: number): LabState {
  return { edges, done: [], processes: {}, faults: [], ceph: {} };
}

function glanceOptions(state: LabState): GlanceOptions {
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

export function dockerSocket(site: string): string {
  return join(paths().sockets, `docker-${site}.sock`);
}

/** One process serves every site's Docker API socket. */
/** Another edge's cluster for an edge (the next one, or central in a one-edge lab); dcn0's for central. */
const neighbour = (site: string, sites: string[]) => {
  const edges = sites.slice(1);
  if (site === sites[0]) return edges[0]!;
  return edges[edges.indexOf(site) + 1] ?? (edges.length > 1 ? edges[0]! : sites[0]!);
};

/** The cluster the probe-misdirected fault sends a site's container to: central's, or dcn0's for central. */
const misdirectedTo = (site: string, sites: string[]) => (site === sites[0] ? sites[1]! : sites[0]!);

async function ensureDockerShims(state: LabState, sites: string[]): Promise<void> {
  const script = join(REPO_ROOT, "lab", "docker-shim.ts");
  const name = "docker-api";
  const rec = state.processes[name];
  const misdirected = state.faults.filter((f) => f.kind === "probe-misdirected").map((f) => f.site);
  const want = sites.map((s) => `${s}${misdirected.includes(s) ? `:${misdirectedTo(s, sites)}` : ""}=${dockerSocket(s)}`);
  const serving = rec?.argv.filter((a) => a.includes("="));
  if (isRunning(rec) && sites.every((s) => existsSync(dockerSocket(s))) && JSON.stringify(serving) === JSON.stringify(want)) return;
  await stopProcess(state, name);
  for (const s of sites) rmSync(dockerSocket(s), { force: true });
  const started = startProcess(state, name, [process.execPath, "--import", "tsx", script, ...want.flatMap((w) => ["--serve", w])], {
    env: {},
  });
  await waitUntil(name, "every site's socket", async () => sites.every((s) => existsSync(dockerSocket(s))), 30000, started);
}

function writeClientConfig(state: LabState, secrets: LabSecrets): void {
  const p = paths();
  const profile = profileDef(state.profile);
  // NOTE: with fault glance-hardened the public Glance shows no locations: the admin uses the services' (internal) endpoints.
  const interface_ = state.faults.some((f) => f.kind === "glance-hardened") ? "internal" : "public";
  const entry = (username: string, password: string, project: string) => ({
    auth: {
      auth_url: KEYSTONE_URL,
      username,
      password,
      project_name: project,
      user_domain_name: "Default",
      project_domain_name: "Default",
    },
    region_name: REGION,
    interface: username === MEMBER_USER ? "public" : interface_,
    identity_api_version: 3,
  });
  const admin = entry("admin", secrets.admin, "admin");
  writeSecretFile(
    p.cloudsYaml,
    stringify({
      clouds: {
        "dcn-lab": admin,
        "dcn-lab-member": entry(MEMBER_USER, secrets.member!, MEMBER_PROJECT),
        ...(profile.cloudEntry !== "dcn-lab" ? { [profile.cloudEntry]: admin } : {}),
      },
    }),
  );
  const header = `# Written by 'dcn-verify lab up' for the embedded lab (profile ${state.profile ?? "standard"}); the same format serves a real cloud.\n`;
  if (profile.example) {
    const overlay = labOverlay(state, profile);
    writeSecretFile(
      p.overlay,
      `# The lab's overlay of examples/${profile.example}: hosts, ports, paths and fsids (docs/lab.md, Lab profiles).\n${stringify(overlay)}`,
    );
    const example = exampleOf(profile);
    const sites = labSites(state);
    // NOTE: the examples name two edges; a lab with fewer keeps only its own, so that a plain 'run' reaches every site.
    const merged = applyOverlay({ ...example, edges: example.edges.filter((e) => sites.includes(e.name)) }, overlay);
    writeSecretFile(p.config, header + stringify(merged));
  } else writeSecretFile(p.config, header + stringify(standardConfig(state)));
  writeSecretFile(
    join(p.root, "openrc"),
    [
      `export OS_AUTH_URL=${KEYSTONE_URL}`,
      "export OS_IDENTITY_API_VERSION=3",
      "export OS_USERNAME=admin",
      `export OS_PASSWORD='${secrets.admin}'`,
      "export OS_PROJECT_NAME=admin",
      "export OS_USER_DOMAIN_NAME=Default",
      "export OS_PROJECT_DOMAIN_NAME=Default",
      `export OS_REGION_NAME=${REGION}`,
      `export OS_INTERFACE=${interface_}`,
      "",
    ].join("\n"),
  );
}

/** A profile's example config, as YAML data. */
function exampleOf(profile: LabProfileDef): { flavor: string; edges: { name: string }[] } & Record<string, unknown> {
  return parse(readFileSync(join(REPO_ROOT, "examples", profile.example!), "utf8")) as { flavor: string; edges: { name: string }[] };
}

/** The standard profile's harness config: every site reached through its Docker API socket, the lab's quick waits. */
function standardConfig(state: LabState): Record<string, unknown> {
  const p = paths();
  const sites = labSites(state);
  const site = (name: string) => ({
    name,
    az: name,
    store: name,
    ceph: {
      cluster: name,
      transport: { kind: "container", socketPath: dockerSocket(name), container: `ceph-mon-${name}` },
      fsid: state.ceph[name]!.fsid,
    },
    volumeType: name,
  });
  return {
    cloud: { cloud: "dcn-lab", cloudsFile: p.cloudsYaml },
    central: site(sites[0]!),
    edges: sites.slice(1).map(site),
    flavor: LAB_FLAVOR,
    network: "none",
    timeouts: {
      imageActive: 120,
      copyImage: 180,
      volumeAvailable: 120,
      volumeUpload: 300,
      serverActive: 120,
      serverStopped: 90,
      snapshotAvailable: 120,
      deletion: 120,
      // NOTE: on loopback every operation ends within seconds: polls back off to 2 s, not the default 5 s.
      pollIntervalMax: 2,
    },
    // NOTE: one OSD per cluster: pools have size 1. The lab's cinder-backup writes every site's backups to central's
    // cluster, as TripleO DCN's does.
    conformance: {
      minPoolSize: 1,
      nonAdminCloud: { cloud: "dcn-lab-member", cloudsFile: p.cloudsYaml },
      backupsSite: sites[0],
    },
  };
}

/** The first IPv4 address of this machine that is not loopback: Glance's stock filter refuses loopback addresses. */
function externalAddress(): string | undefined {
  for (const addrs of Object.values(networkInterfaces()))
    for (const a of addrs ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  return undefined;
}

/**
 * What the lab fills in of a profile's example (docs/lab.md, Lab profiles): the clouds.yaml path, each site's fsid and
 * how its Ceph is reached (the sshd's host, port and keys; kolla's paths are the example's own), an edge's own
 * Glance API, where the harness serves web-download (port 80 on this machine's own address: stock Glance refuses
 * other ports and loopback), and minPoolSize 1 for the lab's single-OSD pools.
 */
function labOverlay(state: LabState, profile: LabProfileDef): Record<string, unknown> {
  const sites = labSites(state);
  const ssh = state.sshd;
  const site = (name: string, i: number) => ({
    name,
    ceph: {
      fsid: state.ceph[name]!.fsid,
      ...(profile.access.kind === "cephadm" && ssh
        ? { transport: { host: ssh.host, port: ssh.port, identityFile: ssh.identityFile, knownHostsFile: ssh.knownHostsFile } }
        : {}),
    },
    ...(profile.glance.edgeApis && i > 0 ? { glance: { endpoint: `http://127.0.0.1:${edgeGlancePort(sites, name)}` } } : {}),
  });
  const address = externalAddress();
  return {
    cloud: { cloudsFile: paths().cloudsYaml },
    central: site(sites[0]!, 0),
    edges: sites.slice(1).map((n, i) => site(n, i + 1)),
    ...(address ? { webDownload: { bind: address, port: 80, advertiseUrl: `http://${address}:80` } } : {}),
    conformance: { minPoolSize: 1 },
  };
}

export interface UpOptions {
  edges?: number;
  /** A lab up with another profile is reshaped (see reshape). */
  profile?: LabProfile;
}

/**
 * Turns a healthy, empty lab of one profile into the other's shape without rebuilding what the profiles share:
 * MariaDB, RabbitMQ, Keystone, Placement, Neutron, Nova and the databases stay; the Ceph clusters (pools, cephx
 * users, fsids), the Ceph clients (Glance, cinder-volume, cinder-backup), the way into Ceph (Docker API or sshd)
 * and the quotas go, and 'up' makes them again in the new shape. A lab with faults, images, volumes, snapshots,
 * backups or servers is refused: those live in the clusters that go.
 */
async function reshape(state: LabState, profile: LabProfile): Promise<void> {
  const from = state.profile ?? "standard";
  const refuse = (why: string) =>
    new LabError(`the lab is up with profile ${from}, not ${profile}, and ${why}: 'dcn-verify lab down' first`);
  if (state.faults.length) throw refuse(`has faults (${state.faults.map((f) => `${f.kind} at ${f.site}`).join(", ")})`);
  const admin = new LabAdmin(loadOrCreateSecrets().admin);
  await admin.login();
  const held = await heldResources(admin);
  if (held.length) throw refuse(`holds ${held.join(", ")}`);
  const kept = await removeOperatorImages(admin);
  if (kept.length) throw refuse(`its operator images would not delete (${kept.join(", ")})`);
  log(
    `reshaping the lab from profile ${from} to ${profile}: new Ceph clusters, Glance, Cinder's volume and backup services, Nova's computes`,
  );
  const old = labSites(state);
  await removeAccess(state);
  await Promise.all(
    ["glance", ...old.flatMap((s) => [cinderVolumeName(s), `cinder-backup-${s}`, edgeGlanceName(s)])].map((n) => stopProcess(state, n)),
  );
  const before = profileDef(state.profile);
  const after = PROFILE_DEFS[profile];
  const next = after.siteNames(state.edges);
  const renamed = old.filter((s) => !next.includes(s));
  // NOTE: the clusters go while Nova and Cinder forget the old shape: neither needs the other.
  await Promise.all([
    ...old.map(async (site) => {
      await stopProcess(state, `ceph-osd-${site}`);
      await stopProcess(state, `ceph-mon-${site}`);
      removeCluster(state, site);
    }),
    (async () => {
      if (renamed.length) await forgetSites(state, admin, renamed);
      await forgetCinderServices([
        ...old
          .filter((s) => !next.includes(s) || before.store(s) !== after.store(s))
          .map((s) => ({ binary: "cinder-volume" as const, host: `cinder@${before.store(s)}` })),
        ...before.cinder
          .backupSites(old)
          .filter((s) => !after.cinder.backupSites(next).includes(s))
          .map((s) => ({ binary: "cinder-backup" as const, host: `backup-${s}` })),
      ]);
      if (PROFILE_DEFS[profile].quotas === "default") await resetQuotas(admin);
    })(),
  ]);
  // NOTE: cinder-api and cinder-scheduler read cinder.conf (its default AZ, its backends) only when they start: they
  // go last, after the API calls above, and 'up' starts them on the new shape's.
  await Promise.all(["cinder-api", "cinder-scheduler"].map((n) => stopProcess(state, n)));
  state.profile = profile;
  writeState(state);
}

/** Fault cephadm-wrong-cluster: each such site's cephadm shell opens its neighbour's cluster. */
function cephadmMisdirected(state: LabState): Record<string, string> {
  const sites = labSites(state);
  return Object.fromEntries(
    state.faults.filter((f) => f.kind === "cephadm-wrong-cluster").map((f) => [f.site, misdirectedTo(f.site, sites)]),
  );
}

/** Undoes how the harness reached the profile's Ceph: the sshd, its user and cephadm; kolla's files. */
async function removeAccess(state: LabState): Promise<void> {
  const access = profileDef(state.profile).access.kind;
  if (access === "cephadm") await removeCephadmAccess(state);
  else if (access === "kolla") removeKollaConfig();
  else await stopProcess(state, "docker-api");
}

/**
 * Sites a new profile names otherwise (rhoso18's az0, az1, … for central, dcn0, …): their computes stop, and Nova,
 * Cinder and the aggregates forget them, so that only the new names show.
 */
async function forgetSites(state: LabState, admin: LabAdmin, sites: string[]): Promise<void> {
  await Promise.all(sites.map((site) => stopProcess(state, computeName(site))));
  await removeSites(admin, sites);
  state.done = state.done.filter((d) => !d.startsWith("nova:hosts:"));
}

export async function up(opts: UpOptions = {}): Promise<LabStatus> {
  const t0 = Date.now();
  const phases: string[] = [];
  let mark = t0;
  const phase = (name: string) => {
    phases.push(`${name} ${Math.round((Date.now() - mark) / 1000)}`);
    mark = Date.now();
  };
  ensureDirs();
  let prior = readState();
  await ensurePackages({ profile: opts.profile ?? prior?.profile });
  if (prior && labSites(prior).some((site) => osdLost(prior!, site))) {
    log("a Ceph OSD of the lab is gone, and with it its in-memory data: rebuilding the lab from scratch");
    await down();
    prior = undefined;
  }
  const edges = opts.edges ?? prior?.edges ?? 2;
  const profile = opts.profile ?? prior?.profile ?? "standard";
  if (prior && (prior.profile ?? "standard") !== profile) await reshape(prior, profile);
  phase("packages and reshape");
  const state = prior ?? { ...newState(edges), profile };
  const resized = state.edges !== edges;
  const p = profileDef(profile);
  const removed = labSites(state).filter((s) => !p.siteNames(edges).includes(s));
  state.edges = edges;
  writeState(state);
  for (const site of removed) {
    for (const name of [
      computeName(site),
      cinderVolumeName(site),
      `cinder-backup-${site}`,
      edgeGlanceName(site),
      `ceph-osd-${site}`,
      `ceph-mon-${site}`,
    ])
      await stopProcess(state, name);
    // NOTE: memstore keeps the OSD's data in memory only: a removed site is rebuilt from scratch if it comes back.
    removeCluster(state, site);
  }
  const secrets = loadOrCreateSecrets();
  const sites = labSites(state);
  const faults = (kind: FaultKind) => state.faults.filter((f) => f.kind === kind).map((f) => f.site);

  log(`ceph clusters: ${sites.join(", ")}`);
  // NOTE: the clusters come up while MariaDB, RabbitMQ and Keystone do; only Glance and Cinder need them.
  const clusters = Promise.all(sites.map((site, i) => ensureCluster(state, site, i, p.shape(site, sites))));
  clusters.catch(() => undefined);

  log("mariadb, rabbitmq, keystone");
  await Promise.all([ensureMariadb(state, secrets), ensureRabbit(state, secrets)]);
  // NOTE: the services' database migrations need MariaDB alone: they run while Keystone and the clusters come up.
  const migrations = settleAll([
    ensureNovaDb(state, secrets),
    ensurePlacement(state, secrets, { dbOnly: true }),
    ensureGlance(state, secrets, sites, glanceOptions(state), false, { dbOnly: true }),
    ensureCinder(state, secrets, sites, [], { dbOnly: true }),
    ensureNeutron(state, secrets, { dbOnly: true }),
  ]);
  migrations.catch(() => undefined);
  await ensureKeystone(state, secrets);
  await registerCatalog(state, secrets);
  await ensureMemberUser(state, secrets);
  await clusters;
  await migrations;
  phase("ceph, keystone and migrations");

  log("placement, glance, cinder, neutron, nova");
  // NOTE: the services start side by side; Nova's after Placement's, as its computes report to Placement when they
  // start (Neutron is needed only once servers are shown).
  await settleAll([
    (async () => {
      await ensurePlacement(state, secrets);
      await ensureNova(state, secrets, sites, faults("compute-down"));
    })(),
    ensureGlance(state, secrets, sites, glanceOptions(state), resized),
    (async () => {
      // NOTE: cinder-api caches the AZ list; a lab that gained sites needs it to read them afresh.
      if (resized) for (const name of ["cinder-api", "cinder-scheduler"]) await stopProcess(state, name);
      await ensureCinder(state, secrets, sites, faults("volume-down"));
    })(),
    ensureNeutron(state, secrets),
    ...(p.glance.edgeApis ? [ensureEdgeGlances(state, secrets, sites, glanceOptions(state), faults("edge-glance-default-central"))] : []),
  ]);
  if (p.access.kind === "cephadm") await ensureCephadmAccess(state, p.access.sshUser, sites, cephadmMisdirected(state));
  else if (p.access.kind === "kolla") writeKollaConfig(state, sites);
  else await ensureDockerShims(state, sites);

  phase("services");
  const admin = new LabAdmin(secrets.admin);
  await admin.login();
  if (removed.length) {
    // NOTE: Nova and Cinder keep a removed site's services, aggregate and type, which discover would report.
    await removeSites(admin, removed);
    await forgetCinderServices(
      removed.flatMap((s) => [
        { binary: "cinder-volume" as const, host: `cinder@${p.store(s)}` },
        { binary: "cinder-backup" as const, host: `backup-${s}` },
      ]),
    );
  }
  const computeSites = sites.filter((s) => !faults("compute-down").includes(s));
  await waitForComputes(admin, computeSites);
  if (!state.done.includes(`nova:hosts:${edges}`)) {
    await discoverHosts();
    state.done.push(`nova:hosts:${edges}`);
    writeState(state);
  }
  await Promise.all([
    ensureAggregates(
      admin,
      sites.filter((s) => !faults("az-mismatch").includes(s)),
    ),
    ensureFlavor(admin, [LAB_FLAVOR, ...(p.example ? [exampleOf(p).flavor] : [])]),
    p.quotas === "lifted" ? ensureQuotas(admin) : undefined,
    ensureVolumeTypes(admin, sites, p.store),
    ensureOperatorImages(admin, sites, p.store),
  ]);
  writeClientConfig(state, secrets);
  phase("provisioning");

  const volumeSites = sites.filter((s) => !faults("volume-down").includes(s));
  const azSites = computeSites.filter((s) => !faults("az-mismatch").includes(s));
  // NOTE: a restarted nova-compute shows "up" on its last heartbeat until service_down_time passes, then down until
  // its first report: waitForComputes above can pass on the old one.
  const st = await waitForStatus(
    state,
    (s) => s.sites.every((x) => (!volumeSites.includes(x.site) || x.backend) && (!azSites.includes(x.site) || x.az)),
    90000,
    { ceph: true },
  );
  phase("the final wait");
  log(`up in ${Math.round((Date.now() - t0) / 1000)} s (${phases.join(", ")}); config ${paths().config}`);
  return st;
}

/**
 * Polls the lab's status until done says so (or the time is up) and returns the last one. Without ceph,
 * only the OpenStack side (stores, backends, AZs) is asked: for waits on the services alone.
 */
async function waitForStatus(
  state: LabState,
  done: (s: LabStatus) => boolean,
  timeoutMs: number,
  o: { ceph?: boolean | string[] } = { ceph: false },
): Promise<LabStatus> {
  const secrets = loadOrCreateSecrets();
  const start = Date.now();
  const poll = { ...o, admin: new LabAdmin(secrets.admin), readings: { maxAgeMs: 1500, bySite: new Map() } };
  let st = await labStatus(state, secrets, poll);
  while (!done(st) && Date.now() - start < timeoutMs) {
    // NOTE: a status costs a few API reads; a fault or heal mostly waits on this poll, so it is short. Ceph is
    // asked at most every 1.5 s: its CLI costs CPU the services coming up need.
    await sleep(300);
    st = await labStatus(state, secrets, poll);
  }
  return st;
}

export async function status(): Promise<LabStatus> {
  const state = readState();
  if (!state) throw new LabError(`no lab state under ${paths().root}: run 'dcn-verify lab up' first`);
  return labStatus(state, loadOrCreateSecrets());
}

/** The lab's processes that are not OpenStack services: Ceph, MariaDB, RabbitMQ and the lab's own fronts. */
const NOT_OPENSTACK = /^(ceph-|mariadb$|rabbitmq$|epmd$|docker-api$|sshd|tls-)/;

/**
 * Restarts every OpenStack service of the lab, as an upgrade does: each one stopped, then the lab brought up again
 * (which starts what is missing and waits until every site is up). Refused on a lab with faults.
 */
export async function restartOpenStack(): Promise<LabStatus> {
  const state = readState();
  if (!state) throw new LabError(`no lab state under ${paths().root}: run 'dcn-verify lab up' first`);
  if (state.faults.length)
    throw new LabError(`the lab has faults (${state.faults.map((f) => `${f.kind} at ${f.site}`).join(", ")}): heal them first`);
  const names = Object.keys(state.processes).filter((n) => !NOT_OPENSTACK.test(n) && isRunning(state.processes[n]));
  log(`restarting ${names.join(", ")}`);
  await Promise.all(names.map((n) => stopProcess(state, n)));
  writeState(state);
  return up();
}

/**
 * Stops every process the lab recorded, newest first. The lab's Ceph keeps its data in memory,
 * so its data and state go too; the next 'lab up' provisions afresh (secrets and logs stay).
 */
export async function down(): Promise<string[]> {
  const state = readState();
  if (!state) return [];
  for (const f of state.faults.filter((x) => x.kind === "osd-down")) await thawOsd(state, f.site).catch(() => undefined);
  // NOTE: a frozen process ignores SIGTERM until it is thawed.
  for (const f of state.faults.filter((x) => x.kind === "mon-down")) await thawMon(state, f.site).catch(() => undefined);
  await removeAccess(state);
  const order = Object.keys(state.processes).reverse();
  const stopped: string[] = [];
  // The OpenStack services go first, together; then the message queue, the database and Ceph.
  const last = (n: string) => /^(rabbitmq|epmd|mariadb|ceph-)/.test(n);
  await Promise.all(
    order
      .filter((n) => !last(n))
      .map(async (name) => {
        await stopProcess(state, name);
        stopped.push(name);
      }),
  );
  for (const name of order.filter(last)) {
    await stopProcess(state, name);
    stopped.push(name);
  }
  for (const site of Object.keys(state.ceph)) {
    for (const f of ["conf", ...["admin", "glance", "cinder", "cinder-backup", "openstack"].map((u) => `client.${u}.keyring`)]) {
      rmSync(join("/etc/ceph", `${site}.${f}`), { force: true });
    }
  }
  rmSync(paths().data, { recursive: true, force: true });
  rmSync(paths().state, { force: true });
  rmSync(paths().config, { force: true });
  rmSync(paths().cloudsYaml, { force: true });
  return stopped;
}

export function requireSite(state: LabState, site: string): void {
  const sites = labSites(state);
  if (!sites.includes(site)) throw new LabError(`unknown site '${site}': the lab has ${sites.join(", ")}`);
}

/** Applies a fault and waits until it shows where it should; 'lab status' tells the rest. */
export async function fault(site: string, kind: string): Promise<void> {
  const state = readState();
  if (!state) throw new LabError("the lab is not up: run 'dcn-verify lab up' first");
  if (!FAULT_KINDS.includes(kind as FaultKind)) throw new LabError(`unknown fault kind '${kind}': one of ${FAULT_KINDS.join(", ")}`);
  requireSite(state, site);
  const k = kind as FaultKind;
  const owners = faultOwners(k);
  const profile = state.profile ?? "standard";
  if (owners.length && !owners.includes(profile))
    throw new LabError(`fault ${k} breaks what only profile ${owners.join(" or ")} has; this lab has profile ${profile}`);
  const sites = labSites(state);
  const refused = FAULTS[k].refuse?.({ site, sites, backupSites: profileDef(state.profile).cinder.backupSites(sites) });
  if (refused) throw new LabError(refused);
  if (!state.faults.some((f) => f.site === site && f.kind === k)) state.faults.push({ site, kind: k, since: new Date().toISOString() });
  writeState(state);
  await FAULTS[k].apply(faultContext(state, site));
}

/** What a fault's apply and heal get of the lab (lab/faults.ts). */
function faultContext(state: LabState, site: string): FaultContext {
  const secrets = loadOrCreateSecrets();
  const sites = labSites(state);
  return {
    state,
    secrets,
    admin: new LabAdmin(secrets.admin),
    sites,
    site,
    backupSites: profileDef(state.profile).cinder.backupSites(sites),
    glanceOptions: () => glanceOptions(state),
    waitForStatus: (done, timeoutMs) => waitForStatus(state, done, timeoutMs),
    ensureDockerShims: () => ensureDockerShims(state, sites),
    writeClientConfig: () => writeClientConfig(state, secrets),
    cephadmMisdirected: () => cephadmMisdirected(state),
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

export async function heal(site?: string): Promise<LabStatus> {
  const state = readState();
  if (!state) throw new LabError("the lab is not up: run 'dcn-verify lab up' first");
  if (site) requireSite(state, site);
  const healing = state.faults.filter((f) => !site || f.site === site);
  state.faults = state.faults.filter((f) => !healing.includes(f));
  writeState(state);
  const after = new Set<HealAfter>();
  for (const f of healing) after.add(await FAULTS[f.kind].heal(faultContext(state, f.site)));
  const secrets = loadOrCreateSecrets();
  const sites = labSites(state);
  // ensureCinder starts the cinder-backup services that are not running, and gives them time to report.
  if (after.has("start-backups"))
    await ensureCinder(
      state,
      secrets,
      sites,
      state.faults.filter((f) => f.kind === "volume-down").map((f) => f.site),
    );
  if (after.has("restart-glance")) await ensureGlance(state, secrets, sites, glanceOptions(state), true);
  // NOTE: with a site given, other sites may keep faults of their own: only this site must come back.
  return waitForStatus(state, (s) => (site ? siteUp(s, site) : s.allUp || s.faults.length > 0), 120000, { ceph: site ? [site] : true });
}

/** Whether a site's row of the status is up: its Ceph, store, backend and AZ. */
export function siteUp(st: LabStatus, site: string): boolean {
  const r = st.sites.find((x) => x.site === site);
  return Boolean(r && r.cephUp && r.store && r.backend && r.az);
}
