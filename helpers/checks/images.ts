import { type Image, locationForStore, parseRbdLocation } from "../clients/image.ts";
import { type ImportProgress, waitForImageInStores } from "../clients/waiters.ts";
import { sitePools } from "../config/pools.ts";
import type { Site } from "../config/schema.ts";
import { importTiming } from "../config/timing.ts";
import type { WaitResult } from "../core/wait.ts";
import type { SiteContext } from "../harness/context.ts";
import { attachJson, attachText, attachWait, step } from "../harness/steps.ts";
import { hashingReadStream, type PreparedImage, prepareImage } from "../images/source.ts";
import type { KnownBytes } from "./data.ts";
import { defect, imageEvidence, rbdEvidence } from "./evidence.ts";

/** The image steps 4 to 7 build on: in central and the edge store, with the bytes the harness uploaded. */
export interface EdgeImage {
  image: Image;
  known: KnownBytes;
}

export interface CentralImage {
  image: Image;
  prepared: PreparedImage;
  localSha512: string;
}

/** Procedure step 2: a raw image, created with disk_format raw and uploaded to the central store only. */
export async function importRawImageToCentral(ctx: SiteContext, what = "image"): Promise<CentralImage> {
  const { image: glance } = ctx.clients;
  const prepared = await step(
    `inspect the image source with qemu-img info${ctx.config.image.source && "generated" in ctx.config.image.source ? " (generated fixture)" : ""}`,
    async () => {
      const p = await prepareImage(ctx.config, ctx.workDir, ctx.run.runId);
      await attachJson("qemu-img info --output=json", p.sourceInfo);
      if (p.convertedFrom)
        await attachText("conversion", `${p.source} was ${p.convertedFrom}; converted to raw with qemu-img convert -O raw`);
      return p;
    },
  );
  const created = await step(`create image ${ctx.name(what)} with disk_format raw`, () => ctx.create.image(what, { diskFormat: "raw" }));
  const digest = await step(`upload the raw data to store ${ctx.central.store} only, hashing it while it streams`, async () => {
    const src = hashingReadStream(prepared.path);
    await glance.uploadImageData(created.id, src.stream, {
      store: ctx.central.store,
      size: prepared.sizeBytes,
      timeoutMs: ctx.config.timeouts.imageActive * 1000,
    });
    return src.digest;
  });
  const active = await ctx.create.imageActive(created.id);
  await attachJson("image after upload", imageEvidence(active));
  return { image: active, prepared, localSha512: digest.sha512 };
}

/** Copies an image into stores with copy-image (all_stores when stores is "all") and waits on os_glance_importing_to_stores. */
export async function copyImage(ctx: SiteContext, imageId: string, stores: string[], o: { allStores?: boolean } = {}): Promise<Image> {
  return (await copyImageWithTimeline(ctx, imageId, stores, o)).value.image;
}

export async function copyImageWithTimeline(
  ctx: SiteContext,
  imageId: string,
  stores: string[],
  o: { allStores?: boolean } = {},
): Promise<WaitResult<ImportProgress>> {
  const { image: glance } = ctx.clients;
  const what = o.allStores ? "all_stores" : stores.join(", ");
  ctx.requireReachable(o.allStores ? ctx.sites.map((s) => s.store) : stores, `copy-image to ${what}`);
  const req = await step(`copy-image ${imageId} to ${what}`, () =>
    glance.importImage(
      imageId,
      o.allStores
        ? { method: "copy-image", allStores: true, allStoresMustSucceed: true }
        : { method: "copy-image", stores, allStoresMustSucceed: true },
    ),
  );
  return step(`wait until no store is left importing and ${stores.join(", ")} hold the image`, async () => {
    const r = await waitForImageInStores(glance, imageId, stores, {
      ...importTiming(ctx.config.timeouts, "copyImage"),
      requestId: req.requestId,
    });
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
      defect(
        ctx,
        `image ${image.id} shows no locations: Glance does not expose them (show_multiple_locations / show_image_direct_url), so Cinder cannot clone at ${site.name}`,
      );
    }
    if (!loc)
      defect(
        ctx,
        `image ${image.id} has no location with metadata.store=${site.store} (locations: ${image.locations.map((l) => l.url).join(", ")})`,
      );
    const parsed = parseRbdLocation(loc.url);
    const fsid = ctx.clusterOf(site);
    if (parsed.fsid !== fsid) {
      const owner = ctx.sites.find((s) => s !== site && s.ceph.fsid === parsed.fsid);
      defect(
        ctx,
        `the ${site.store} location ${loc.url} names Ceph fsid ${parsed.fsid}${owner ? ` (${owner.name}'s cluster)` : ""}, but ${site.name}'s cluster is ${fsid}`,
      );
    }
    return { fsid, pool: parsed.pool, snapshot: parsed.snapshot };
  });
}

/** The Glance image's rbd image on a site's cluster has its protected snapshot, the parent Cinder clones. */
export async function checkImageSnapshot(ctx: SiteContext, site: Site, imageId: string): Promise<void> {
  const { imageSnapshot } = ctx.config.rbd;
  const imagesPool = sitePools(ctx.config, site).images;
  await step(`rbd on ${site.name} shows ${imagesPool}/${imageId} with a protected ${imageSnapshot}`, async () => {
    await rbdEvidence(ctx.probe(site), imagesPool, `${site.name} ${imagesPool} pool`);
    const snaps = await ctx.probe(site).rbdSnapshots(imagesPool, imageId);
    await attachJson(`rbd snap ls ${imagesPool}/${imageId}`, snaps);
    if (!snaps.some((s) => s.name === imageSnapshot && s.protected))
      defect(ctx, `${imagesPool}/${imageId}@${imageSnapshot} on ${site.name} is missing or not protected`);
  });
}
