import type { CephProbe } from "../ceph/probe.ts";
import type { RbdEntry } from "../ceph/rbd.ts";
import type { Image } from "../clients/image.ts";
import { sitePools } from "../config/pools.ts";
import type { PoolRole } from "../config/schema.ts";
import { isApiError } from "../core/http.ts";
import type { SiteContext } from "../harness/context.ts";
import { ProductDefect } from "../harness/failure-kind.ts";
import { attachJson, attachText } from "../harness/steps.ts";

/** A check about the cloud failed at this site: the message says what was wrong. */
export function defect(ctx: SiteContext, message: string): never {
  throw new ProductDefect(ctx.site.name, message);
}

export function imageEvidence(image: Image) {
  return {
    id: image.id,
    name: image.name,
    status: image.status,
    disk_format: image.disk_format,
    size: image.size,
    stores: image.stores,
    os_glance_importing_to_stores: image.os_glance_importing_to_stores,
    os_glance_failed_import: image.os_glance_failed_import,
    os_hash_algo: image.os_hash_algo,
    os_hash_value: image.os_hash_value,
    direct_url: image.direct_url,
    locations: image.locations,
  };
}

/** `rbd ls -l` of a pool, as the operator reads it and as JSON, attached to the report. */
export async function rbdEvidence(probe: CephProbe, pool: string, label: string): Promise<RbdEntry[]> {
  const [text, entries] = await Promise.all([probe.rbdListText(pool), probe.rbdList(pool)]);
  await attachText(`${label}: rbd --cluster ${probe.cluster} -p ${pool} ls -l`, text);
  await attachJson(`${label}: rbd --cluster ${probe.cluster} -p ${pool} ls -l --format json`, entries);
  return entries;
}

/** Where an rbd image of this name exists in each site's pool of the role, and the sites whose pool could not be read (with why). */
export async function locateRbdImage(ctx: SiteContext, role: PoolRole, name: string): Promise<{ found: string[]; unread: string[] }> {
  const found: string[] = [];
  const unread: string[] = [];
  await Promise.all(
    ctx.sites.map(async (s) => {
      const pool = sitePools(ctx.config, s)[role];
      if (!pool) return;
      try {
        const list = await ctx.probe(s).rbdList(pool);
        if (list.some((e) => e.image === name && !e.snapshot)) found.push(s.name);
      } catch (e) {
        unread.push(`${s.name} (${(e as Error).message.split("\n")[0]})`);
      }
    }),
  );
  return { found, unread };
}

/** An API's refusal, read from an ApiError, for outcomes that must be reported precisely. */
export function apiRefusal(e: unknown): { status: number; message: string } | undefined {
  if (!isApiError(e)) return undefined;
  return { status: e.status ?? 0, message: e.message };
}

/**
 * Glance's refusal of copy-image to a store that already holds the image: HTTP 400 "Image is already present at
 * store" (glance/api/v2/images.py). Any other error (a 5xx, a refused connection) is not that refusal.
 */
export function copyRefusal(e: unknown): { status: number; message: string } | undefined {
  const r = apiRefusal(e);
  return r?.status === 400 && /already present at store/i.test(r.message) ? r : undefined;
}

/** A listing, at most ten named: "<id> (<name>)<why>; ...; and N more". */
export function listed<T extends { id: string; name?: string | null }>(items: T[], why: (i: T) => string): string {
  return (
    items
      .slice(0, 10)
      .map((i) => `${i.id} (${i.name ?? "no name"})${why(i)}`)
      .join("; ") + (items.length > 10 ? `; and ${items.length - 10} more` : "")
  );
}
