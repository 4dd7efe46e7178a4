import type { CephProbe } from "./ceph/probe.ts";
import { parentSpec, type RbdEntry } from "./ceph/rbd.ts";
import type { Server } from "./clients/compute.ts";
import { locationForStore, parseRbdLocation, type Image } from "./clients/image.ts";
import type { Site } from "./config.ts";
import { isApiError } from "./http.ts";
import { hashingReadStream, prepareImage, type PreparedImage } from "./image-source.ts";
import type { SiteContext } from "./run-context.ts";
import { attachJson, attachText, attachWait, step } from "./steps.ts";
import {
  importTiming, timing, waitForImageInStores, waitForImageStatus, waitForServerStatus, waitForVolumeStatus, type ImportProgress, type WaitResult,
} from "./waiters.ts";

/** A check about the cloud failed: the message names the site and what was wrong. */
export class ProductDefect extends Error {
  constructor(site: string, message: string) {
    super(`[${site}] ${message}`);
    this.name = "ProductDefect";
  }
}

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

export interface CentralImage {
  image: Image;
  prepared: PreparedImage;
  localSha512: string;
}

/** Procedure step 2: a raw image, created with disk_format raw and uploaded to the central store only. */
export async function importRawImageToCentral(ctx: SiteContext, what = "image"): Promise<CentralImage> {
  const { image: glance } = ctx.clients;
  const prepared = await step(`inspect the image source with qemu-img info${ctx.config.image.source && "generated" in ctx.config.image.source ? " (generated fixture)" : ""}`, async () => {
    const p = await prepareImage(ctx.config, ctx.workDir, ctx.run.runId);
    await attachJson("qemu-img info --output=json", p.sourceInfo);
    if (p.convertedFrom) await attachText("conversion", `${p.source} was ${p.convertedFrom}; converted to raw with qemu-img convert -O raw`);
    return p;
  });
  const created = await step(`create image ${ctx.name(what)} with disk_format raw`, async () => {
    // NOTE: Cinder 21 uploads a volume made from an image with properties {} when the image has no
    // custom property, and Glance refuses that (400); the run-id property keeps the image uploadable.
    const img = await glance.createImage({
      name: ctx.name(what), disk_format: "raw", container_format: "bare", visibility: "private", dcn_verify_run: ctx.run.runId,
    });
    ctx.tracker.track({ kind: "image", id: img.id, name: img.name ?? ctx.name(what), site: ctx.site.name });
    return img;
  });
  const digest = await step(`upload the raw data to store ${ctx.central.store} only, hashing it while it streams`, async () => {
    const src = hashingReadStream(prepared.path);
    await glance.uploadImageData(created.id, src.stream, { store: ctx.central.store, size: prepared.sizeBytes, timeoutMs: ctx.config.timeouts.imageActive * 1000 });
    return src.digest;
  });
  const active = await step("wait until the image is active", async () => {
    const r = await waitForImageStatus(glance, created.id, "active", timing(ctx.config.timeouts, "imageActive"));
    await attachWait("image active", r);
    return r.value;
  });
  await attachJson("image after upload", imageEvidence(active));
  return { image: active, prepared, localSha512: digest.sha512 };
}

/** Copies an image into stores with copy-image (all_stores when stores is "all") and waits on os_glance_importing_to_stores. */
export async function copyImage(ctx: SiteContext, imageId: string, stores: string[], o: { allStores?: boolean } = {}): Promise<Image> {
  return (await copyImageWithTimeline(ctx, imageId, stores, o)).value.image;
}

export async function copyImageWithTimeline(ctx: SiteContext, imageId: string, stores: string[], o: { allStores?: boolean } = {}): Promise<WaitResult<ImportProgress>> {
  const { image: glance } = ctx.clients;
  const what = o.allStores ? "all_stores" : stores.join(", ");
  const req = await step(`copy-image ${imageId} to ${what}`, () =>
    glance.importImage(imageId, o.allStores ? { method: "copy-image", allStores: true, allStoresMustSucceed: true } : { method: "copy-image", stores, allStoresMustSucceed: true }));
  return step(`wait until no store is left importing and ${stores.join(", ")} hold the image`, async () => {
    const r = await waitForImageInStores(glance, imageId, stores, { ...importTiming(ctx.config.timeouts, "copyImage"), requestId: req.requestId });
    await attachWait(`copy to ${what}`, r);
    return r;
  });
}

/** The image's location in a store: rbd://<fsid>/<pool>/<image>/<snap>, with metadata.store set. */
export async function checkLocation(ctx: SiteContext, image: Image, site: Site): Promise<{ fsid: string; pool: string; snapshot: string }> {
  return step(`the ${site.store} location is on ${site.name}'s own Ceph cluster`, async () => {
    const loc = locationForStore(image, site.store);
    await attachJson("image locations", image.locations ?? []);
    if (!image.locations || image.locations.length === 0) {
      defect(ctx, `image ${image.id} shows no locations: Glance does not expose them (show_multiple_locations / show_image_direct_url), so Cinder cannot clone at ${site.name}`);
    }
    if (!loc) defect(ctx, `image ${image.id} has no location with metadata.store=${site.store} (locations: ${image.locations.map((l) => l.url).join(", ")})`);
    const parsed = parseRbdLocation(loc.url);
    const fsid = await ctx.probe(site).fsid();
    if (parsed.fsid !== fsid) {
      defect(ctx, `the ${site.store} location ${loc.url} names Ceph fsid ${parsed.fsid}, but ${site.name}'s cluster is ${fsid}`);
    }
    return { fsid, pool: parsed.pool, snapshot: parsed.snapshot };
  });
}

export async function rbdEvidence(probe: CephProbe, pool: string, label: string): Promise<RbdEntry[]> {
  const [text, entries] = await Promise.all([probe.rbdListText(pool), probe.rbdList(pool)]);
  await attachText(`${label}: rbd --cluster ${probe.cluster} -p ${pool} ls -l`, text);
  await attachJson(`${label}: rbd --cluster ${probe.cluster} -p ${pool} ls -l --format json`, entries);
  return entries;
}

/** Where, among the configured sites, an rbd image of this name exists. */
export async function findRbdImage(ctx: SiteContext, pool: string, name: string): Promise<string[]> {
  const all = [ctx.config.central, ...ctx.config.edges];
  const found: string[] = [];
  await Promise.all(all.map(async (s) => {
    const list = await ctx.probe(s).rbdList(pool).catch(() => []);
    if (list.some((e) => e.image === name && !e.snapshot)) found.push(s.name);
  }));
  return found;
}

/** Procedure step 5 (and 6): the rbd image is a copy-on-write clone of images/<image>@snap on this site's cluster. */
export function assertClone(ctx: SiteContext, entries: RbdEntry[], rbdName: string, imageId: string, snapshot?: string): RbdEntry {
  const label = snapshot ? `${rbdName}@${snapshot}` : rbdName;
  const entry = entries.find((e) => e.image === rbdName && (snapshot ? e.snapshot === snapshot : !e.snapshot));
  if (!entry) defect(ctx, `${label} is not in the volumes pool of ${ctx.site.name}'s Ceph cluster`);
  const want = `images/${imageId}@snap`;
  if (!entry.parent) {
    defect(ctx, `${label} on ${ctx.site.name} has no parent: Cinder made a full copy of the image instead of a copy-on-write clone of ${want}`);
  }
  const got = parentSpec(entry.parent);
  if (got !== want) defect(ctx, `${label} on ${ctx.site.name} has parent ${got}, expected ${want}`);
  return entry;
}

export async function waitServer(ctx: SiteContext, id: string, status: string, key: "serverActive" | "serverStopped"): Promise<Server> {
  const r = await waitForServerStatus(ctx.clients.compute, id, status, timing(ctx.config.timeouts, key));
  await attachWait(`server ${status}`, r);
  return r.value;
}

export async function waitVolume(ctx: SiteContext, id: string, status: string): Promise<void> {
  const r = await waitForVolumeStatus(ctx.clients.volume, id, status, timing(ctx.config.timeouts, "volumeAvailable"));
  await attachWait(`volume ${status}`, r);
}

/** Glance's refusal, read from an ApiError, for outcomes that must be reported precisely. */
export function apiRefusal(e: unknown): { status: number; message: string } | undefined {
  if (!isApiError(e)) return undefined;
  return { status: e.status ?? 0, message: e.message };
}
