import { defaultStore, type ImageClient, type Store } from "../clients/image.ts";
import type { Site } from "../config/schema.ts";
import { type Digest, StreamDigest } from "../core/digest.ts";
import type { SiteContext } from "../harness/context.ts";
import { InfrastructureError } from "../harness/failure-kind.ts";
import type { KnownBytes } from "./data.ts";

/** The site's own Glance API: its configured endpoint and the client bound to it with the run's token. */
export function siteGlance(ctx: Pick<SiteContext, "site" | "clients">): { endpoint: string; glance: ImageClient } {
  const endpoint = ctx.site.glance?.endpoint;
  const glance = ctx.clients.siteImage;
  if (!endpoint || !glance) throw new Error(`site ${ctx.site.name} names no Glance API of its own (glance.endpoint)`);
  return { endpoint, glance };
}

/** Why a site's own Glance API does not default to the site's store (GET /v2/info/stores through it), if it does not. */
export function edgeDefaultStoreDefect(site: Pick<Site, "name" | "store">, endpoint: string, stores: Store[]): string | undefined {
  const def = defaultStore(stores);
  if (def === site.store) return undefined;
  return (
    `${site.name}'s Glance API ${endpoint} reports default store ${def ?? "(none flagged default)"}, expected ${site.store}` +
    ` (its stores: ${stores.map((s) => s.id).join(", ") || "none"})`
  );
}

/** Why the bytes a site's own Glance API served for an image are not the harness's, if they are not. */
export function servedDataDefect(
  site: Pick<Site, "name">,
  endpoint: string,
  imageId: string,
  known: KnownBytes,
  served: Digest | undefined,
): string | undefined {
  if (!served) return `${site.name}'s Glance API ${endpoint} returns no data for image ${imageId} (HTTP 204)`;
  if (served.sha512 === known.sha512 && served.bytes === known.sizeBytes) return undefined;
  return (
    `${site.name}'s Glance API ${endpoint} serves image ${imageId} as ${served.bytes} bytes with sha512 ${served.sha512}, ` +
    `not the ${known.sizeBytes} bytes the harness uploaded (sha512 ${known.sha512})`
  );
}

/**
 * GET /v2/images/{id}/file through a Glance API, hashed as it streams and never held whole; the request and the
 * read together end within timeoutMs. undefined: the image has no data (204).
 */
export async function downloadDigest(glance: ImageClient, imageId: string, timeoutMs: number): Promise<Digest | undefined> {
  const started = Date.now();
  const data = await glance.downloadImageData(imageId, { timeoutMs });
  if (!data) return undefined;
  const digest = new StreamDigest();
  let bytes = 0;
  const read = (async () => {
    for await (const chunk of data) {
      digest.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
    return digest.result();
  })();
  let timer: NodeJS.Timeout | undefined;
  // NOTE: axios hands a stream out as Readable.from() over the response; destroying it waits for the next chunk, so a
  // stalled download never ends by destroy alone: the deadline rejects on its own.
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        data.destroy();
        reject(new InfrastructureError(`the data of image ${imageId} did not end within ${timeoutMs / 1000} s (${bytes} bytes read)`));
      },
      Math.max(0, timeoutMs - (Date.now() - started)),
    );
  });
  try {
    return await Promise.race([read, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
