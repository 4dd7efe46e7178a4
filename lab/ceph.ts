import { randomUUID } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { isRunning, LabError, startProcess, waitUntil } from "./procs.ts";
import { type LabState, paths, writeSecretFile, writeState } from "./state.ts";

export const CEPH_ETC = "/etc/ceph";

/** A site's pools by role (no backups: the site has none) and its cephx users with their caps. */
export interface SiteShape {
  pools: { images: string; volumes: string; vms: string; backups?: string };
  users: Record<string, string[]>;
}

/** cephx users shaped like the Ceph-with-OpenStack guide's. */
export const CEPH_CLIENTS: Record<string, string[]> = {
  "client.glance": ["mon", "profile rbd", "osd", "profile rbd pool=images"],
  "client.cinder": ["mon", "profile rbd", "osd", "profile rbd pool=volumes, profile rbd pool=vms, profile rbd-read-only pool=images"],
  "client.cinder-backup": ["mon", "profile rbd", "osd", "profile rbd pool=backups"],
};

export function monPort(index: number): number {
  return 6789 + index;
}

function siteDir(site: string): string {
  return join(paths().data, "ceph", site);
}

export function keyringPath(site: string, entity: string): string {
  return join(CEPH_ETC, `${site}.${entity}.keyring`);
}

function cephConf(site: string, fsid: string, port: number, users: string[]): string {
  const dir = siteDir(site);
  const clients = ["client.admin", ...users].map((c) => `[${c}]\nkeyring = ${keyringPath(site, c)}\n`).join("\n");
  return `[global]
fsid = ${fsid}
mon initial members = a
mon host = [v1:127.0.0.1:${port}]
public network = 127.0.0.0/8
ms bind msgr2 = false
ms bind ipv4 = true
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
mon warn on insecure global id reclaim allowed = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon data avail warn = 5
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = 8589934592
osd memory target = 268435456
run dir = ${dir}/run
log to file = false
err to stderr = true
log to stderr = false
mon cluster log to file = false

[client]
admin socket =
rados osd op timeout = 20
rados mon op timeout = 20
client mount timeout = 20

[mon]
admin socket = ${dir}/run/$cluster-$name.asok
mon data = ${dir}/mon/$cluster-$id
keyring = ${dir}/mon/keyring
log to file = true
log file = ${paths().logs}/ceph-${site}-$name.log

[osd]
admin socket = ${dir}/run/$cluster-$name.asok
osd data = ${dir}/osd/$cluster-$id
keyring = ${dir}/osd/$cluster-$id/keyring
log to file = true
log file = ${paths().logs}/ceph-${site}-$name.log

${clients}`;
}

async function ceph(site: string, ...args: string[]): Promise<string> {
  const r = await execa("ceph", ["--cluster", site, "--connect-timeout", "10", ...args], { reject: false, timeout: 60000 });
  if (r.exitCode !== 0) throw new LabError(`ceph --cluster ${site} ${args.join(" ")} failed: ${r.stderr.trim()}`, `ceph-${site}`);
  return r.stdout;
}

/**
 * Several ceph commands in one CLI process (its interactive mode, fed on stdin): each process costs Python's start-up
 * (docs/lab.md). That mode goes on past a failed command, printing "Error ..." on stderr, so that is checked.
 */
async function cephBatch(site: string, commands: string[]): Promise<void> {
  const r = await execa("ceph", ["--cluster", site, "--connect-timeout", "10"], {
    input: `${commands.join("\n")}\n`,
    reject: false,
    timeout: 120000,
  });
  const failed = r.stderr.split("\n").filter((l) => /^Error /.test(l));
  if (r.exitCode !== 0 || failed.length)
    throw new LabError(`ceph --cluster ${site} (${commands.join("; ")}) failed: ${failed.join("; ") || r.stderr.trim()}`, `ceph-${site}`);
}

async function run(cmd: string, args: string[]): Promise<string> {
  const r = await execa(cmd, args, { reject: false, timeout: 60000 });
  if (r.exitCode !== 0) throw new LabError(`${cmd} ${args.join(" ")} failed: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

function monName(site: string): string {
  return `ceph-mon-${site}`;
}

function osdName(site: string): string {
  return `ceph-osd-${site}`;
}

export function startMon(state: LabState, site: string) {
  return startProcess(state, monName(site), ["ceph-mon", "--cluster", site, "-i", "a", "-f"]);
}

export function startOsd(state: LabState, site: string) {
  return startProcess(state, osdName(site), ["ceph-osd", "--cluster", site, "-i", "0", "-f"]);
}

async function monUp(site: string): Promise<boolean> {
  const r = await execa("ceph", ["--cluster", site, "--connect-timeout", "3", "mon", "stat"], { reject: false, timeout: 10000 });
  return r.exitCode === 0;
}

export async function osdUp(site: string): Promise<boolean> {
  const r = await execa("ceph", ["--cluster", site, "--connect-timeout", "3", "osd", "dump", "--format", "json"], {
    reject: false,
    timeout: 10000,
  });
  if (r.exitCode !== 0) return false;
  const dump = JSON.parse(r.stdout) as { osds: { osd: number; up: number; in: number }[] };
  return dump.osds.some((o) => o.up === 1 && o.in === 1);
}

/** Creates (once) and starts one single-node cluster named after the site. */
export async function ensureCluster(state: LabState, site: string, index: number, shape: SiteShape): Promise<void> {
  const dir = siteDir(site);
  const port = monPort(index);
  const doneKey = `ceph:${site}`;
  if (!state.done.includes(doneKey)) {
    rmSync(dir, { recursive: true, force: true });
    for (const d of ["run", "mon", `osd/${site}-0`]) mkdirSync(join(dir, d), { recursive: true, mode: 0o700 });
    mkdirSync(CEPH_ETC, { recursive: true });
    const fsid = randomUUID();
    writeFileSync(join(CEPH_ETC, `${site}.conf`), cephConf(site, fsid, port, Object.keys(shape.users)), { mode: 0o644 });
    const monKeyring = join(dir, "mon", "keyring");
    const adminKeyring = keyringPath(site, "client.admin");
    await run("ceph-authtool", ["--create-keyring", monKeyring, "--gen-key", "-n", "mon.", "--cap", "mon", "allow *"]);
    await run("ceph-authtool", [
      "--create-keyring",
      adminKeyring,
      "--gen-key",
      "-n",
      "client.admin",
      "--cap",
      "mon",
      "allow *",
      "--cap",
      "osd",
      "allow *",
      "--cap",
      "mds",
      "allow *",
      "--cap",
      "mgr",
      "allow *",
    ]);
    chmodSync(adminKeyring, 0o600);
    await run("ceph-authtool", [monKeyring, "--import-keyring", adminKeyring]);
    const monmap = join(dir, "monmap");
    await run("monmaptool", ["--create", "--clobber", "--addv", "a", `[v1:127.0.0.1:${port}]`, "--fsid", fsid, monmap]);
    await run("ceph-mon", ["--cluster", site, "--mkfs", "-i", "a", "--monmap", monmap, "--keyring", monKeyring]);
    state.ceph[site] = { fsid, monPort: port };
    writeState(state);
  }

  if (!isRunning(state.processes[monName(site)])) {
    const rec = startMon(state, site);
    await waitUntil(monName(site), "monitor quorum", () => monUp(site), 60000, rec);
  }

  if (!state.done.includes(doneKey)) {
    const osdDir = join(dir, "osd", `${site}-0`);
    const uuid = randomUUID();
    const id = (await ceph(site, "osd", "create", uuid)).trim();
    if (id !== "0") throw new LabError(`expected osd.0 in a new cluster ${site}, got osd.${id}`, `ceph-${site}`);
    await run("ceph-osd", [
      "--cluster",
      site,
      "-i",
      "0",
      "--mkfs",
      "--mkkey",
      "--no-mon-config",
      "--osd-uuid",
      uuid,
      "--keyring",
      join(osdDir, "keyring"),
      "--osd-data",
      osdDir,
      "--osd-objectstore",
      "memstore",
    ]);
    await ceph(site, "auth", "add", "osd.0", "osd", "allow *", "mon", "allow profile osd", "-i", join(osdDir, "keyring"));
  }

  if (!isRunning(state.processes[osdName(site)])) {
    const rec = startOsd(state, site);
    await waitUntil(osdName(site), "osd.0 up and in", () => osdUp(site), 90000, rec);
  }

  if (!state.done.includes(doneKey)) {
    const pools = Object.values(shape.pools);
    // NOTE: the lab runs no ceph-mgr (memory); MGR_DOWN is muted so health reflects the mon and OSD.
    await cephBatch(site, [
      ...pools.flatMap((pool) => [`osd pool create ${pool} 8 8`, `osd pool application enable ${pool} rbd`]),
      "health mute MGR_DOWN --sticky",
    ]);
    for (const pool of pools) await run("rbd", ["--cluster", site, "pool", "init", pool]);
    for (const [entity, caps] of Object.entries(shape.users)) {
      const keyring = await ceph(site, "auth", "get-or-create", entity, ...caps);
      writeSecretFile(keyringPath(site, entity), keyring.endsWith("\n") ? keyring : `${keyring}\n`);
    }
    state.done.push(doneKey);
    writeState(state);
  }
}

/**
 * Takes the OSD out of service without losing its in-memory store: the process is frozen and
 * the mon told it is down. Thawing it lets it re-announce itself.
 */
export async function freezeOsd(state: LabState, site: string): Promise<void> {
  const rec = state.processes[osdName(site)];
  if (!rec || !isRunning(rec)) throw new LabError(`ceph-osd-${site} is not running`, osdName(site));
  process.kill(rec.pid, "SIGSTOP");
  await ceph(site, "osd", "down", "0");
}

export async function thawOsd(state: LabState, site: string): Promise<void> {
  const rec = state.processes[osdName(site)];
  if (!rec || !isRunning(rec))
    throw new LabError(`ceph-osd-${site} is not running; the lab must be rebuilt (lab down, lab up)`, osdName(site));
  process.kill(rec.pid, "SIGCONT");
}

/** The site's monitor frozen: its cluster stops answering (a site cut off), and thawing it brings the cluster back. */
export function freezeMon(state: LabState, site: string): void {
  const rec = state.processes[monName(site)];
  if (!rec || !isRunning(rec)) throw new LabError(`ceph-mon-${site} is not running`, monName(site));
  process.kill(rec.pid, "SIGSTOP");
}

export async function thawMon(state: LabState, site: string): Promise<void> {
  const rec = state.processes[monName(site)];
  if (!rec || !isRunning(rec))
    throw new LabError(`ceph-mon-${site} is not running; the lab must be rebuilt (lab down, lab up)`, monName(site));
  process.kill(rec.pid, "SIGCONT");
  await waitUntil(monName(site), "monitor quorum", () => monUp(site), 60000, rec);
}

/** memstore keeps data only in the OSD's memory: a provisioned cluster whose OSD is gone has lost it. */
export function osdLost(state: LabState, site: string): boolean {
  return state.done.includes(`ceph:${site}`) && !isRunning(state.processes[osdName(site)]);
}

/** Fault store-write-denied: client.glance may only read the images pool, so every write to the store fails. */
export async function setGlanceWrites(site: string, allowed: boolean): Promise<void> {
  const caps = allowed ? CEPH_CLIENTS["client.glance"]! : ["mon", "profile rbd", "osd", "profile rbd-read-only pool=images"];
  await ceph(site, "auth", "caps", "client.glance", ...caps);
}

/** Fault ceph-caps-broad: client.glance may do anything anywhere, as a careless deployment leaves it. */
export async function setGlanceCapsBroad(site: string): Promise<void> {
  await ceph(site, "auth", "caps", "client.glance", "mon", "allow *", "osd", "allow *");
}

/** Fault pools-renamed: the pools Glance and Cinder write to, under the names some deployments give them. */
export const RENAMED_POOLS = { images: "glance-images", volumes: "cinder-volumes" } as const;

/** Renames the images and volumes pools (or back), keeping their data, and gives the cephx users caps on the new names. */
export async function setPoolsRenamed(site: string, renamed: boolean): Promise<void> {
  const pools = (await ceph(site, "osd", "pool", "ls")).split("\n").map((p) => p.trim());
  for (const [plain, other] of Object.entries(RENAMED_POOLS)) {
    const [from, to] = renamed ? [plain, other] : [other, plain];
    if (pools.includes(from)) await ceph(site, "osd", "pool", "rename", from, to);
  }
  const p = renamed ? RENAMED_POOLS : { images: "images", volumes: "volumes" };
  await ceph(site, "auth", "caps", "client.glance", "mon", "profile rbd", "osd", `profile rbd pool=${p.images}`);
  await ceph(
    site,
    "auth",
    "caps",
    "client.cinder",
    "mon",
    "profile rbd",
    "osd",
    `profile rbd pool=${p.volumes}, profile rbd pool=vms, profile rbd-read-only pool=${p.images}`,
  );
}

export const MISSING_POOL = "backups";

/** Fault pool-missing: the backups pool is renamed away (and back), keeping its data. */
export async function setPoolMissing(site: string, missing: boolean): Promise<void> {
  const [from, to] = missing ? [MISSING_POOL, `${MISSING_POOL}-renamed`] : [`${MISSING_POOL}-renamed`, MISSING_POOL];
  await ceph(site, "osd", "pool", "rename", from, to);
}

/** Forgets a site's cluster: its data, its config and keyrings, and that it was provisioned. */
export function removeCluster(state: LabState, site: string): void {
  rmSync(siteDir(site), { recursive: true, force: true });
  for (const f of readdirSync(CEPH_ETC).filter((x) => x === `${site}.conf` || x.startsWith(`${site}.client.`)))
    rmSync(join(CEPH_ETC, f), { force: true });
  state.done = state.done.filter((d) => d !== `ceph:${site}`);
  delete state.ceph[site];
  writeState(state);
}

export async function fsidOf(site: string): Promise<string> {
  return (await ceph(site, "fsid")).trim();
}

/** One `ceph -s`: the cluster's health word and whether its OSD is up and in ("DOWN" when the mon does not answer). */
export async function cephState(site: string): Promise<{ health: string; osdUp: boolean }> {
  const r = await execa("ceph", ["--cluster", site, "--connect-timeout", "3", "-s", "--format", "json"], { reject: false, timeout: 10000 });
  if (r.exitCode !== 0) return { health: "DOWN", osdUp: false };
  try {
    const s = JSON.parse(r.stdout) as { health: { status: string }; osdmap: { num_up_osds: number; num_in_osds: number } };
    return { health: s.health.status, osdUp: s.osdmap.num_up_osds > 0 && s.osdmap.num_in_osds > 0 };
  } catch {
    return { health: "DOWN", osdUp: false };
  }
}

export function clusterExists(site: string): boolean {
  return existsSync(join(CEPH_ETC, `${site}.conf`));
}

/** The rbd image names in a site's pool, as the Ceph admin sees them. */
export async function rbdImages(site: string, pool: string): Promise<string[]> {
  return (await run("rbd", ["--cluster", site, "-p", pool, "ls", "--format", "json"]).then((o) => JSON.parse(o || "[]"))) as string[];
}

/**
 * Removes an rbd image as the Ceph admin, whatever a dead client left on it: its watchers are
 * blocklisted, its locks broken, its snapshots unprotected and purged. Gives up after timeoutMs.
 */
export async function removeRbdImage(site: string, pool: string, image: string, timeoutMs = 90000): Promise<void> {
  const spec = `${pool}/${image}`;
  const rbd = (...args: string[]) => execa("rbd", ["--cluster", site, ...args], { reject: false, timeout: 60000 });
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    if (!(await rbdImages(site, pool)).includes(image)) return;
    const status = await rbd("status", spec, "--format", "json");
    const watchers = status.exitCode === 0 ? ((JSON.parse(status.stdout).watchers ?? []) as { address: string }[]) : [];
    for (const w of watchers) await ceph(site, "osd", "blocklist", "add", w.address);
    const locks = await rbd("lock", "ls", spec, "--format", "json");
    if (locks.exitCode === 0)
      for (const l of JSON.parse(locks.stdout || "[]") as { id: string; locker: string }[]) await rbd("lock", "rm", spec, l.id, l.locker);
    const snaps = await rbd("snap", "ls", spec, "--format", "json");
    if (snaps.exitCode === 0)
      for (const s of JSON.parse(snaps.stdout || "[]") as { name: string; protected: string }[])
        if (s.protected === "true") await rbd("snap", "unprotect", `${spec}@${s.name}`);
    await rbd("snap", "purge", spec);
    const rm = await rbd("rm", spec);
    if (rm.exitCode === 0) return;
    last = rm.stderr.trim().split("\n").at(-1) ?? "";
    await new Promise((r) => setTimeout(r, 2000));
  }
  throw new LabError(`rbd --cluster ${site} rm ${spec}: still there after ${Math.round(timeoutMs / 1000)} s (last error: ${last})`);
}

/** A cephx user's caps as a shape gives them, or with one pool's grant left out (fault openstack-caps-no-volumes). */
export async function setUserCaps(site: string, entity: string, caps: string[], withoutPool?: string): Promise<void> {
  const out = [...caps];
  const i = out.indexOf("osd");
  if (withoutPool && i >= 0)
    out[i + 1] = out[i + 1]!.split(",")
      .map((g) => g.trim())
      .filter((g) => g !== `profile rbd pool=${withoutPool}`)
      .join(", ");
  await ceph(site, "auth", "caps", entity, ...out);
}
