import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Clients } from "./clients/index.ts";
import type { Config } from "./config.ts";
import { createCephProbe } from "./ceph/probe.ts";
import { deleteResource, type ResourceKind, type TrackedResource } from "./resources.ts";
import { redactText } from "./redact.ts";
import { timing } from "./waiters.ts";

/** A run id as `dcn-verify run` makes them: 20261123t144905-116f. */
export const RUN_ID = /^\d{8}t\d{6}-[0-9a-f]{4}$/;

export interface Leftover extends TrackedResource {
  runId: string;
}

/**
 * The run id in a resource name the harness gave: `<prefix>-<run id>-<site>-<what>`, also inside
 * "snapshot for <that name>" (Nova's snapshot for a server image). Anything else is not the harness's.
 */
export function runIdOf(name: string | null | undefined, prefix: string): string | undefined {
  if (!name) return undefined;
  const m = new RegExp(`(?:^|^snapshot for )${prefix.replace(/[-]/g, "\\-")}-(\\d{8}t\\d{6}-[0-9a-f]{4})-[A-Za-z0-9][A-Za-z0-9_-]*$`).exec(name);
  return m?.[1];
}

/** Deletion order: servers hold volumes, snapshots hold volumes, volumes (clones) hold images. */
const ORDER: ResourceKind[] = ["server", "backup", "snapshot", "volume", "image"];

/** What earlier runs left in Nova, Cinder and Glance, found by the run id in their names. */
export async function findLeftovers(c: Clients, cfg: Pick<Config, "naming">, which: { runId?: string }): Promise<Leftover[]> {
  const prefix = cfg.naming.prefix;
  const [servers, backups, snapshots, volumes, images] = await Promise.all([
    c.compute.listServers(), c.volume.listBackups(), c.volume.listSnapshots(), c.volume.listVolumes(), c.image.listImages(),
  ]);
  const found: Leftover[] = [];
  const add = (kind: ResourceKind, id: string, name: string | null | undefined) => {
    const runId = runIdOf(name, prefix);
    if (!runId || (which.runId && runId !== which.runId)) return;
    const site = /-\d{8}t\d{6}-[0-9a-f]{4}-([A-Za-z0-9_]+)-/.exec(name ?? "")?.[1] ?? "?";
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
  const ids = new Set<string>();
  if (!existsSync(reportsRoot)) return ids;
  const runs = runId ? [runId] : readdirSync(reportsRoot).filter((d) => RUN_ID.test(d));
  for (const r of runs) {
    const f = join(reportsRoot, r, "resources.jsonl");
    if (!existsSync(f)) continue;
    for (const line of readFileSync(f, "utf8").split("\n").filter(Boolean)) ids.add((JSON.parse(line) as { id: string }).id);
  }
  return ids;
}

/**
 * Deletes the leftovers in dependency order, then looks in each site's Ceph for rbd images still
 * named after them or after anything the runs' journals list: those are reported, not deleted (the
 * Ceph probe only reads).
 */
export async function deleteLeftovers(c: Clients, cfg: Config, leftovers: Leftover[], log: (line: string) => void, journaled = new Set<string>()): Promise<CleanupOutcome> {
  const out: CleanupOutcome = { deleted: [], failed: [], rbdLeft: [] };
  const t = timing(cfg.timeouts, "deletion");
  for (const kind of ORDER) {
    for (const r of leftovers.filter((x) => x.kind === kind)) {
      try {
        await deleteResource(c, r, t);
        out.deleted.push(r);
        log(`deleted ${r.kind} ${r.name} (${r.id})`);
      } catch (e) {
        const error = redactText((e as Error).message);
        out.failed.push({ resource: r, error });
        log(`FAILED to delete ${r.kind} ${r.name} (${r.id}): ${error}`);
      }
    }
  }
  const ids = new Set([...out.deleted.map((r) => r.id), ...journaled]);
  for (const site of [cfg.central, ...cfg.edges]) {
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
