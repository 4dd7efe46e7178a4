import type { Site } from "../config/schema.ts";
import type { RbdExtent } from "../ceph/rbd.ts";
import type { HeadDigest } from "../core/digest.ts";
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
 * bytes the harness wrote: the head must hash alike. With exactBytes the image must be that long and hold only
 * zeros after the head (a volume or an image made from one): read whole, unless the cluster shows no data there
 * (readData). No site: nothing is read (the caller has said why as not verified).
 */
export async function checkData(
  ctx: SiteContext,
  at: Site | Site[],
  specAt: string | ((site: Site) => string),
  known: KnownBytes,
  o: { what: string; exactBytes?: number },
): Promise<void> {
  const sites = Array.isArray(at) ? at : [at];
  if (!sites.length) return;
  const specOf = (s: Site) => (typeof specAt === "string" ? specAt : specAt(s));
  const specs = [...new Set(sites.map(specOf))];
  const spec = specs.length === 1 ? specs[0]! : sites.map((s) => `${specOf(s)} (${s.name})`).join(", ");
  const whole = o.exactBytes !== undefined;
  const title =
    `the first ${known.sizeBytes} bytes of ${spec} on ${sites.map((s) => `${s.name}'s`).join(" and ")} cluster are the bytes the harness wrote (sha512)` +
    (whole && o.exactBytes! > known.sizeBytes ? `, and zeros after them to ${o.exactBytes} bytes` : "");
  await step(title, async () => {
    const read = await Promise.all(sites.map((site) => readData(ctx, site, specOf(site), known.sizeBytes, o.exactBytes)));
    const found = read.map((r) => r.digest);
    await attachJson(`data of ${spec}`, {
      expected: known,
      exactBytes: o.exactBytes,
      found: Object.fromEntries(sites.map((s, i) => [s.name, read[i]])),
    });
    const wrong = sites.flatMap((site, i) => judgeData(`${o.what} ${specOf(site)} on ${site.name}`, known, found[i]!, o.exactBytes) ?? []);
    if (wrong.length) defect(ctx, wrong.join("; "));
  });
}

/** What was read of an image, and how its tail after the head was known. */
interface DataRead {
  digest: HeadDigest;
  /** Where the image holds data after the head: none means the tail reads as zeros without being read. */
  tail?: { sizeBytes: number; extentsAfterHead: RbdExtent[] };
}

/**
 * The head of the image, hashed; with exactBytes, the rest is read too, unless the cluster's own map of the
 * image (`rbd info` and `rbd diff`: no parent, and no extent after the head) shows it holds no data there, so that
 * it reads as zeros. A clone's parent's extents are not in its diff: a clone is always read whole.
 */
async function readData(ctx: SiteContext, site: Site, spec: string, headBytes: number, exactBytes?: number): Promise<DataRead> {
  const probe = ctx.probe(site);
  const opts = { timeoutMs: ctx.config.timeouts.volumeUpload * 1000 };
  if (exactBytes === undefined) return { digest: await probe.exportHead(spec, headBytes, opts) };
  if (exactBytes > headBytes) {
    const [info, extents] = await Promise.all([probe.rbdInfoOf(spec), probe.rbdDiff(spec)]);
    const extentsAfterHead = dataAfter(extents, headBytes);
    if (!info.parent && extentsAfterHead.length === 0) {
      const head = await probe.exportHead(spec, headBytes, opts);
      // NOTE: the export stops once the head is read; bytes past it in the last chunk were checked for zeros all the same.
      return { digest: { ...head, bytes: info.size }, tail: { sizeBytes: info.size, extentsAfterHead } };
    }
  }
  return { digest: await probe.exportHead(spec, headBytes, { ...opts, wholeImage: true }) };
}

/** The extents of `rbd diff` that hold data past the first headBytes. */
export function dataAfter(extents: RbdExtent[], headBytes: number): RbdExtent[] {
  return extents.filter((e) => e.exists && e.offset + e.length > headBytes);
}

/** What is wrong with the data read back, against the bytes the harness wrote; undefined when nothing is. */
export function judgeData(where: string, known: KnownBytes, got: HeadDigest, exactBytes?: number): string | undefined {
  if (got.headBytes < known.sizeBytes) return `${where} holds ${got.bytes} bytes, fewer than the ${known.sizeBytes} the harness wrote`;
  if (got.sha512 !== known.sha512)
    return `${where}: its first ${known.sizeBytes} bytes hash to ${got.sha512}, but the bytes the harness wrote hash to ${known.sha512}`;
  if (exactBytes !== undefined && got.bytes !== exactBytes) return `${where} holds ${got.bytes} bytes, expected ${exactBytes}`;
  if (got.firstNonZeroAfterHead !== undefined)
    return `${where} has data after the harness's ${known.sizeBytes} bytes (first non-zero byte at offset ${got.firstNonZeroAfterHead})`;
  return undefined;
}
