/** The lab's lifecycle: up (and reshape), status and its waits, restart, down. */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { settleAll } from "../helpers/core/concurrency.ts";
import { cephadmMisdirected, ensureDockerShims, removeAccess } from "./access.ts";
import { ensureCluster, osdLost, removeCluster, thawMon, thawOsd } from "./ceph.ts";
import { ensureCephadmAccess } from "./cephadm.ts";
import { exampleOf, writeClientConfig } from "./harness-config.ts";
import { writeKollaConfig } from "./kolla-config.ts";
import { LabAdmin } from "./os-admin.ts";
import { ensurePackages } from "./packages.ts";
import { isRunning, LabError, log, sleep, stopProcess } from "./procs.ts";
import { labSites, PROFILE_DEFS, profileDef } from "./profiles/index.ts";
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
import { cinderVolumeName, ensureCinder, forgetCinderServices } from "./services/cinder.ts";
import { edgeGlanceName, ensureEdgeGlances, ensureGlance, glanceOptions } from "./services/glance.ts";
import { ensureKeystone, ensureMemberUser, registerCatalog } from "./services/keystone.ts";
import { ensureMariadb } from "./services/mariadb.ts";
import { ensureNeutron } from "./services/neutron.ts";
import { computeName, discoverHosts, ensureNova, ensureNovaDb } from "./services/nova.ts";
import { ensurePlacement } from "./services/placement.ts";
import { ensureRabbit } from "./services/rabbitmq.ts";
import { ensureDirs, type FaultKind, type LabProfile, type LabState, loadOrCreateSecrets, paths, readState, writeState } from "./state.ts";
import { type LabStatus, labStatus } from "./status.ts";

function newState(edges: number): LabState {
  return { edges, done: [], processes: {}, faults: [], ceph: {} };
}

export interface UpOptions {
  edges?: number;
  /** A lab up with another profile is reshaped (see reshape). */
  profile?: LabProfile;
}

/** How long a process whose data is discarded right after (a cluster reshaped away, the lab taken down) has to end. */
const DISCARDED_GRACE_MS = 1000;

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
      await stopProcess(state, `ceph-osd-${site}`, DISCARDED_GRACE_MS);
      await stopProcess(state, `ceph-mon-${site}`, DISCARDED_GRACE_MS);
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
export async function waitForStatus(
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
  // The OpenStack services go first, together; then the message queue, the database and Ceph, together, with a second
  // each to end: their data is removed below (an OSD takes about 7 s to end on SIGTERM).
  const last = (n: string) => /^(rabbitmq|epmd|mariadb|ceph-)/.test(n);
  await Promise.all(
    order
      .filter((n) => !last(n))
      .map(async (name) => {
        await stopProcess(state, name);
        stopped.push(name);
      }),
  );
  await Promise.all(
    order.filter(last).map(async (name) => {
      await stopProcess(state, name, DISCARDED_GRACE_MS);
      stopped.push(name);
    }),
  );
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

/** Whether a site's row of the status is up: its Ceph, store, backend and AZ. */
export function siteUp(st: LabStatus, site: string): boolean {
  const r = st.sites.find((x) => x.site === site);
  return Boolean(r && r.cephUp && r.store && r.backend && r.az);
}
