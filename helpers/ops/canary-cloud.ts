import type { Clients } from "../clients/index.ts";
import type { Config } from "../config/schema.ts";
import { RUN_PROPERTY, siteOfName } from "../harness/naming.ts";
import { listEverything, notOursReasons, regionalClients } from "./leftovers.ts";
import {
  CANARY_KINDS,
  CANARY_PROPERTY,
  type CanaryKind,
  type CanaryManifest,
  canaryOf,
  inventoryMetadata,
  type ListedResource,
  plantRunOf,
} from "../harness/canary.ts";
import type { TrackedResource } from "../harness/resources.ts";

/** A canary as the cloud lists it now. */
export interface CloudCanary extends ListedResource {
  kind: CanaryKind;
  setId: string;
}

/**
 * Every resource in Nova, Cinder and Glance that carries a canary mark (of any set, or of setId): images by their
 * properties, the others by their metadata; Nova and Cinder are asked in every region a site is in.
 */
export async function listCanaries(c: Clients, cfg: Config, setId?: string): Promise<CloudCanary[]> {
  const { regions } = await regionalClients(cfg, c);
  const { servers, backups, snapshots, volumes, images } = await listEverything(c, regions);
  const prefix = cfg.naming.prefix;
  const out: CloudCanary[] = [];
  const add = (r: { id: string; name?: string | null; created_at?: unknown; created?: unknown }, metadata: Record<string, unknown>) => {
    const mark = canaryOf(metadata);
    if (!mark || (setId && mark.setId !== setId)) return;
    const name = r.name ?? "";
    out.push({
      id: r.id,
      name,
      site: siteOfName(name, prefix) ?? "?",
      createdAt: String(r.created_at ?? r.created ?? ""),
      metadata,
      kind: mark.kind,
      setId: mark.setId,
    });
  };
  const md = (r: object) => ((r as { metadata?: unknown }).metadata ?? {}) as Record<string, unknown>;
  for (const r of [...servers, ...backups, ...snapshots, ...volumes]) add(r, md(r));
  for (const i of images) add(i, i as Record<string, unknown>);
  return out;
}

/** Why remove may not delete a canary of the set: the ownership proof of cleanup, and the set's own mark. */
export function notACanaryOf(r: CloudCanary, setId: string, cfg: Config): string[] {
  const runId = plantRunOf(setId);
  const mark = r.metadata[RUN_PROPERTY];
  const reasons = notOursReasons({ name: r.name, mark: { shown: true, value: mark } }, runId, {
    prefix: cfg.naming.prefix,
    sites: [cfg.central.name, ...cfg.edges.map((e) => e.name)],
    journaled: false,
  });
  if (r.metadata[CANARY_PROPERTY] !== setId) reasons.push(`its ${CANARY_PROPERTY} mark is not ${setId}`);
  return reasons;
}

const TRACKED_KIND: Record<CanaryKind, TrackedResource["kind"]> = {
  image: "image",
  volume: "volume",
  snapshot: "snapshot",
  "snapshot-volume": "volume",
  backup: "backup",
  "server-volume": "volume",
  server: "server",
};

/**
 * What remove deletes, last planted first: the manifest's canaries and any other canary of the set the cloud holds
 * (a plant that never wrote its manifest), in the reverse of the plant order (servers first, images last).
 */
export function removalOrder(manifest: CanaryManifest | undefined, found: CloudCanary[]): (TrackedResource & { canary: CanaryKind })[] {
  const all = new Map<string, { kind: CanaryKind; id: string; name: string; site: string; order: number }>();
  let n = 0;
  for (const s of manifest?.sites ?? [])
    for (const c of s.canaries) all.set(c.id, { kind: c.kind, id: c.id, name: c.name, site: s.site, order: n++ });
  for (const r of [...found].sort((a, b) => a.createdAt.localeCompare(b.createdAt)))
    if (!all.has(r.id)) all.set(r.id, { kind: r.kind, id: r.id, name: r.name, site: r.site, order: n++ });
  return [...all.values()]
    .sort((a, b) => CANARY_KINDS.indexOf(b.kind) - CANARY_KINDS.indexOf(a.kind) || b.order - a.order)
    .map((r) => ({ kind: TRACKED_KIND[r.kind], id: r.id, name: r.name, site: r.site, canary: r.kind }));
}

/**
 * Adds the set's inventory (inventoryMetadata) to the metadata of every canary of the manifest, each in its site's
 * region. Returns what would not take it, each with the API's answer.
 * NOTE: Cinder replaces a backup's metadata whole (PUT, microversion 3.43), so the backup's is read and sent back with
 * the inventory; volume, snapshot and server metadata are merged by POST, image properties added by PATCH.
 */
export async function recordInventory(
  clientsOf: (r: { site: string }) => Clients,
  manifest: CanaryManifest,
): Promise<{ recorded: number; failed: { site: string; kind: CanaryKind; id: string; error: string }[] }> {
  const failed: { site: string; kind: CanaryKind; id: string; error: string }[] = [];
  let recorded = 0;
  for (const s of manifest.sites) {
    const c = clientsOf(s);
    const metadata = inventoryMetadata(manifest.sites, s.site);
    for (const canary of s.canaries) {
      try {
        switch (canary.kind) {
          case "image":
            await c.image.updateImage(
              canary.id,
              Object.entries(metadata).map(([k, value]) => ({ op: "add" as const, path: `/${k}`, value })),
            );
            break;
          case "volume":
          case "snapshot-volume":
          case "server-volume":
            await c.volume.setVolumeMetadata(canary.id, metadata);
            break;
          case "snapshot":
            await c.volume.setSnapshotMetadata(canary.id, metadata);
            break;
          case "backup": {
            const now = (await c.volume.showBackup(canary.id)).metadata ?? {};
            await c.volume.updateBackupMetadata(canary.id, { ...now, ...metadata });
            break;
          }
          case "server":
            await c.compute.setServerMetadata(canary.id, metadata);
            break;
        }
        recorded++;
      } catch (e) {
        failed.push({ site: s.site, kind: canary.kind, id: canary.id, error: (e as Error).message });
      }
    }
  }
  return { recorded, failed };
}
