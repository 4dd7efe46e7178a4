import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createCephProbe } from "../ceph/probe.ts";
import type { Clients } from "../clients/index.ts";
import { allSites } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { timing } from "../config/timing.ts";
import { redactText } from "../core/redact.ts";
import { RUN_ID, runIdOf, siteOfName } from "../harness/naming.ts";
import { deleteAll, ResourceJournal, type ResourceKind, type TrackedResource } from "../harness/resources.ts";

export interface Leftover extends TrackedResource {
  runId: string;
}

/** Deletion order: servers hold volumes, snapshots hold volumes, volumes (clones) hold images. */
const ORDER: ResourceKind[] = ["server", "backup", "snapshot", "volume", "image"];

/** What earlier runs left in Nova, Cinder and Glance, found by the run id in their names. */
export async function findLeftovers(c: Clients, cfg: Pick<Config, "naming">, which: { runId?: string }): Promise<Leftover[]> {
  const prefix = cfg.naming.prefix;
  const [servers, backups, snapshots, volumes, images] = await Promise.all([
    c.compute.listServers(),
    c.volume.listBackups(),
    c.volume.listSnapshots(),
    c.volume.listVolumes(),
    c.image.listImages(),
  ]);
  const found: Leftover[] = [];
  const add = (kind: ResourceKind, id: string, name: string | null | undefined) => {
    const runId = runIdOf(name, prefix);
    if (!runId || (which.runId && runId !== which.runId)) return;
    const site = siteOfName(name, prefix) ?? "?";
    found.push({ kind, id, name: name!, site, runId });
  };
  for (const s of servers) add("server", s.id, s.name);
  for (const b of backups) add("backup", b.id, b.name);
  for (const s of snapshots) add("snapshot", s.id, s.name);
  for (const v of volumes) add("volume", v.id, v.name);
  for (const i of images) add("image", i.id, i.name);
  return found.sort((a, b) => ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind));
}

export interface CleanupOutcome {
  deleted: Leftover[];
  failed: { resource: Leftover; error: string }[];
  /** rbd images still named after a deleted resource, per site: Ceph-side leftovers, reported only. */
  rbdLeft: { site: string; pool: string; image: string }[];
}

/** The ids of everything a run's journal (reports/<run id>/resources.jsonl) says it created. */
export function journalIds(reportsRoot: string, runId?: string): Set<string> {
  if (!existsSync(reportsRoot)) return new Set();
  const runs = runId ? [runId] : readdirSync(reportsRoot).filter((d) => RUN_ID.test(d));
  return new Set(runs.flatMap((r) => new ResourceJournal(join(reportsRoot, r, "resources.jsonl")).lines().map((l) => l.id)));
}

/**
 * Deletes the leftovers in dependency order, then looks in each site's Ceph for rbd images still
 * named after them or after anything the runs' journals list: those are reported, not deleted (the
 * Ceph probe only reads).
 */
export async function deleteLeftovers(
  c: Clients,
  cfg: Config,
  leftovers: Leftover[],
  log: (line: string) => void,
  journaled = new Set<string>(),
): Promise<CleanupOutcome> {
  const inOrder = ORDER.flatMap((kind) => leftovers.filter((x) => x.kind === kind));
  const out: CleanupOutcome = {
    ...(await deleteAll(c, inOrder, timing(cfg.timeouts, "deletion"), { log: (line) => log(line) })),
    rbdLeft: [],
  };
  const ids = new Set([...out.deleted.map((r) => r.id), ...journaled]);
  for (const site of allSites(cfg)) {
    const probe = createCephProbe(site, { timeoutMs: cfg.timeouts.request * 1000 });
    try {
      for (const pool of [cfg.rbd.imagesPool, cfg.rbd.volumesPool]) {
        for (const e of await probe.rbdList(pool)) {
          if (e.snapshot) continue;
          const id = e.image.replace(/^volume-/, "");
          if (ids.has(id)) out.rbdLeft.push({ site: site.name, pool, image: e.image });
        }
      }
    } catch (e) {
      log(`[${site.name}] could not list rbd images: ${redactText((e as Error).message.split("\n")[0]!)}`);
    } finally {
      await probe.close();
    }
  }
  return out;
}
