import { parentSpec, type RbdEntry } from "../ceph/rbd.ts";
import { sitePools } from "../config/pools.ts";
import type { SiteContext } from "../harness/context.ts";
import type { Site } from "../config/schema.ts";
import { defect } from "./evidence.ts";

/** `<site's images pool>/<image id>@<imageSnapshot>` (the context's site unless another is given): the parent of a copy-on-write clone of a Glance image. */
export function imageParent(ctx: SiteContext, imageId: string, site: Site = ctx.site): string {
  return `${sitePools(ctx.config, site).images}/${imageId}@${ctx.config.rbd.imageSnapshot}`;
}

/** Procedure steps 5 and 6: the rbd image is a copy-on-write clone of the Glance image's snapshot on this site's cluster. */
export function assertClone(ctx: SiteContext, entries: RbdEntry[], rbdName: string, imageId: string, snapshot?: string): RbdEntry {
  const label = snapshot ? `${rbdName}@${snapshot}` : rbdName;
  const entry = entries.find((e) => e.image === rbdName && (snapshot ? e.snapshot === snapshot : !e.snapshot));
  if (!entry) defect(ctx, `${label} is not in the ${sitePools(ctx.config, ctx.site).volumes} pool of ${ctx.site.name}'s Ceph cluster`);
  const want = imageParent(ctx, imageId);
  if (!entry.parent) {
    defect(
      ctx,
      `${label} on ${ctx.site.name} has no parent: Cinder made a full copy of the image instead of a copy-on-write clone of ${want}`,
    );
  }
  const got = parentSpec(entry.parent);
  if (got !== want) defect(ctx, `${label} on ${ctx.site.name} has parent ${got}, expected ${want}`);
  return entry;
}
