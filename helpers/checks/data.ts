import type { Site } from "../config/schema.ts";
import type { SiteContext } from "../harness/context.ts";
import { attachJson, step } from "../harness/steps.ts";
import { defect } from "./evidence.ts";

/** Bytes the harness wrote or read itself: the reference a copy's data is compared with. */
export interface KnownBytes {
  sha512: string;
  sizeBytes: number;
}

/**
 * The data of an rbd image (or snapshot) on a site's cluster, read with `rbd export`, against the
 * bytes the harness wrote: the head must hash alike. With exactBytes the whole image is read, and
 * must be that long and hold only zeros after the head (a volume or an image made from one).
 */
export async function checkData(
  ctx: SiteContext,
  site: Site,
  spec: string,
  known: KnownBytes,
  o: { what: string; exactBytes?: number },
): Promise<void> {
  const whole = o.exactBytes !== undefined;
  const title =
    `the first ${known.sizeBytes} bytes of ${spec} on ${site.name}'s cluster are the bytes the harness wrote (sha512)` +
    (whole && o.exactBytes! > known.sizeBytes ? `, and zeros after them to ${o.exactBytes} bytes` : "");
  await step(title, async () => {
    const got = await ctx.probe(site).exportHead(spec, known.sizeBytes, {
      wholeImage: whole,
      timeoutMs: ctx.config.timeouts.volumeUpload * 1000,
    });
    await attachJson(`data of ${spec} on ${site.name}`, { expected: known, found: got, exactBytes: o.exactBytes });
    const where = `${o.what} ${spec} on ${site.name}`;
    if (got.headBytes < known.sizeBytes)
      defect(ctx, `${where} holds ${got.bytes} bytes, fewer than the ${known.sizeBytes} the harness wrote`);
    if (got.sha512 !== known.sha512)
      defect(
        ctx,
        `${where}: its first ${known.sizeBytes} bytes hash to ${got.sha512}, but the bytes the harness wrote hash to ${known.sha512}`,
      );
    if (whole && got.bytes !== o.exactBytes) defect(ctx, `${where} holds ${got.bytes} bytes, expected ${o.exactBytes}`);
    if (got.firstNonZeroAfterHead !== undefined)
      defect(
        ctx,
        `${where} has data after the harness's ${known.sizeBytes} bytes (first non-zero byte at offset ${got.firstNonZeroAfterHead})`,
      );
  });
}
