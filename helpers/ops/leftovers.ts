import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { type Clients, openSiteClients } from "../clients/index.ts";
import { allSites } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { timing } from "../config/timing.ts";
import { RUN_ID, RUN_PROPERTY, runIdOf, siteOfName } from "../harness/naming.ts";
import { formatRbdNotChecked, type RbdLeftover, type RbdNotChecked, scanRbdLeftovers } from "../harness/rbd-leftovers.ts";
import { deleteAll, ResourceJournal, type ResourceKind, type TrackedResource } from "../harness/resources.ts";
import { canaryOf } from "../harness/canary.ts";

export interface Leftover extends TrackedResource {
  runId: string;
}

/** A resource whose name looks like the harness's but that cleanup will not touch, and why. */
export interface NotOurs extends Leftover {
  reason: string;
}

/** Deletion order: servers hold volumes, snapshots hold volumes, volumes (clones) hold images. */
const ORDER: ResourceKind[] = ["server", "backup", "snapshot", "volume", "image"];

/** The ownership mark as the API shows it: shown false when its representation has no metadata at all. */
export type MarkSeen = { shown: true; value: unknown } | { shown: false };

/**
 * Whether cleanup may delete a resource of run `runId`: its name carries the run id and a configured
 * site, and its mark (RUN_PROPERTY) holds the same run id. A resource in the run's journal needs the
 * mark too wherever the API shows metadata; only where it shows none does the journal alone prove it.
 * Returns the reasons it is not ours, none when it is.
 */
export function notOursReasons(
  r: { name: string | null | undefined; mark: MarkSeen },
  runId: string,
  o: { prefix: string; sites: readonly string[]; journaled: boolean },
): string[] {
  const reasons: string[] = [];
  if (runIdOf(r.name, o.prefix) !== runId) reasons.push(`its name does not carry run ${runId}`);
  const site = siteOfName(r.name, o.prefix);
  if (!site) reasons.push("its name names no site");
  else if (!o.sites.includes(site)) reasons.push(`site '${site}' is not configured`);
  if (r.mark.shown) {
    if (r.mark.value === undefined || r.mark.value === null) reasons.push(`no ${RUN_PROPERTY} mark`);
    else if (r.mark.value !== runId) reasons.push(`its ${RUN_PROPERTY} mark is '${String(r.mark.value)}', not ${runId}`);
  } else if (!o.journaled) reasons.push(`the API shows no metadata to hold a ${RUN_PROPERTY} mark, and no journal lists it`);
  return reasons;
}

/** What each run's journal (reports/<run id>/resources.jsonl) says it created: id -> the resource and its run. */
export function journalEntries(reportsRoot: string, runId?: string): Map<string, Leftover> {
  const out = new Map<string, Leftover>();
  if (!existsSync(reportsRoot)) return out;
  const runs = runId ? [runId] : readdirSync(reportsRoot).filter((d) => RUN_ID.test(d));
  for (const r of runs)
    for (const l of new ResourceJournal(join(reportsRoot, r, "resources.jsonl")).lines())
      out.set(l.id, { kind: l.kind, id: l.id, name: l.name, site: l.site, runId: r });
  return out;
}

/**
 * The clients of each region the config's sites are in, beside the cloud's own (none when no site names a
 * region), and the clients that delete a resource of a site: its region's.
 */
export async function regionalClients(
  cfg: Config,
  central: Clients,
): Promise<{ regions: Clients[]; clientsOf: (r: { site: string }) => Clients }> {
  const bySite = new Map<string, Clients>();
  const byRegion = new Map<string, Clients>();
  for (const s of allSites(cfg).filter((x) => x.region !== undefined && x.region !== cfg.cloud.region)) {
    const region = s.region!;
    if (!byRegion.has(region)) byRegion.set(region, await openSiteClients(cfg, s));
    bySite.set(s.name, byRegion.get(region)!);
  }
  return { regions: [...byRegion.values()], clientsOf: (r) => bySite.get(r.site) ?? central };
}

/** Every server, backup, snapshot, volume and image: Nova and Cinder asked in every region a site is in, Glance once (central's). */
export async function listEverything(c: Clients, regions: readonly Clients[]) {
  const everywhere = [c, ...regions];
  const union = async <T extends { id: string }>(list: (x: Clients) => Promise<T[]>): Promise<T[]> => {
    const seen = new Map<string, T>();
    for (const l of await Promise.all(everywhere.map(list))) for (const r of l) if (!seen.has(r.id)) seen.set(r.id, r);
    return [...seen.values()];
  };
  const [servers, backups, snapshots, volumes, images] = await Promise.all([
    union((x) => x.compute.listServers()),
    union((x) => x.volume.listBackups()),
    union((x) => x.volume.listSnapshots()),
    union((x) => x.volume.listVolumes()),
    c.image.listImages(),
  ]);
  return { servers, backups, snapshots, volumes, images };
}

/**
 * What earlier runs left in Nova, Cinder and Glance: what the journals list (the first source) and
 * what carries a run id in its name. Only what also proves it is the run's (notOursReasons) is a
 * leftover; the rest is returned as not ours, to be left alone.
 */
export async function findLeftovers(
  c: Clients,
  cfg: Pick<Config, "naming" | "central" | "edges">,
  which: { runId?: string; journal?: ReadonlyMap<string, Leftover>; regions?: readonly Clients[] },
): Promise<{ ours: Leftover[]; notOurs: NotOurs[]; listed: Set<string> }> {
  const prefix = cfg.naming.prefix;
  const sites = allSites(cfg).map((s) => s.name);
  const journal = which.journal ?? new Map<string, Leftover>();
  const { servers, backups, snapshots, volumes, images } = await listEverything(c, which.regions ?? []);
  const ours: Leftover[] = [];
  const notOurs: NotOurs[] = [];
  const add = (kind: ResourceKind, r: { id: string; name?: string | null }, mark: MarkSeen, metadata: Record<string, unknown> = {}) => {
    const journaled = journal.get(r.id);
    const runId = journaled?.runId ?? runIdOf(r.name, prefix);
    if (!runId || (which.runId && runId !== which.runId)) return;
    const name = r.name ?? "";
    const found = { kind, id: r.id, name, site: siteOfName(name, prefix) ?? journaled?.site ?? "?", runId };
    const canary = canaryOf(metadata);
    const reasons = canary
      ? [`a canary of set ${canary.setId}, kept on purpose: 'dcn-verify canary remove --set ${canary.setId}' deletes it`]
      : notOursReasons({ name, mark }, runId, { prefix, sites, journaled: Boolean(journaled) });
    if (reasons.length) notOurs.push({ ...found, reason: reasons.join("; ") });
    else ours.push(found);
  };
  const metadataMark = (r: object): MarkSeen => {
    const m = (r as { metadata?: unknown }).metadata;
    return m && typeof m === "object" ? { shown: true, value: (m as Record<string, unknown>)[RUN_PROPERTY] } : { shown: false };
  };
  const md = (r: object) => ((r as { metadata?: unknown }).metadata ?? {}) as Record<string, unknown>;
  for (const s of servers) add("server", s, metadataMark(s), md(s));
  for (const b of backups) add("backup", b, metadataMark(b), md(b));
  for (const s of snapshots) add("snapshot", s, metadataMark(s), md(s));
  for (const v of volumes) add("volume", v, metadataMark(v), md(v));
  for (const i of images)
    add("image", i, { shown: true, value: (i as Record<string, unknown>)[RUN_PROPERTY] }, i as Record<string, unknown>);
  const byOrder = (a: Leftover, b: Leftover) => ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind);
  const listed = new Set([servers, backups, snapshots, volumes, images].flatMap((l) => l.map((r) => r.id)));
  return { ours: ours.sort(byOrder), notOurs: notOurs.sort(byOrder), listed };
}

export interface CleanupOutcome {
  deleted: Leftover[];
  failed: { resource: Leftover; error: string }[];
  /** rbd images still named after a deleted resource, per site: Ceph-side leftovers, reported only. */
  rbdLeft: RbdLeftover[];
  /** Pools that could not be listed. */
  rbdNotChecked: RbdNotChecked[];
}

/**
 * Deletes the leftovers in dependency order, then looks in each site's Ceph for rbd images still
 * named after them or after what the runs' journals list and the API no longer has (`journaledGone`):
 * those are reported, not deleted (the Ceph probe only reads).
 */
export async function deleteLeftovers(
  c: Clients | ((r: Leftover) => Clients),
  cfg: Config,
  leftovers: Leftover[],
  log: (line: string) => void,
  journaledGone: readonly TrackedResource[] = [],
): Promise<CleanupOutcome> {
  const inOrder = ORDER.flatMap((kind) => leftovers.filter((x) => x.kind === kind));
  const t = timing(cfg.timeouts, "deletion");
  const done = await deleteAll(c, inOrder, t, { log: (line) => log(line) });
  const gone = new Map<string, TrackedResource>(journaledGone.map((r) => [r.id, r]));
  for (const r of done.deleted) gone.set(r.id, r);
  const rbd = await scanRbdLeftovers(cfg, [...gone.values()], { wait: t, log });
  for (const n of rbd.notChecked) log(formatRbdNotChecked(n));
  return { ...done, rbdLeft: rbd.found, rbdNotChecked: rbd.notChecked };
}
