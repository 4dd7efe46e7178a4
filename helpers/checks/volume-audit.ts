import { parentSpec, type RbdEntry } from "../ceph/rbd.ts";
import type { Volume } from "../clients/volume.ts";

export interface AuditedVolume {
  id: string;
  name: string | null;
  image: string;
  /** What rbd shows for volume-<id> in the site's volumes pool. */
  rbd: string;
}

export interface ImageVolumeAudit {
  /** Clones of <imagesPool>/<image id>@<snapshot> on the site's cluster: what DCN wants. */
  clones: AuditedVolume[];
  /** No rbd parent: the image was copied whole. */
  full: AuditedVolume[];
  /** Not in the site's volumes pool at all. */
  missing: AuditedVolume[];
  /** A parent other than the image's snapshot. */
  wrongParent: AuditedVolume[];
  /** Beyond the bound: not looked at. */
  unchecked: AuditedVolume[];
  /** Not in a state that has an rbd image to judge (creating, error, ...). */
  notJudged: { id: string; name: string | null; status: string }[];
  /** Made by a dcn-verify run or canary set (madeBy names which): not the operator's, so not judged. */
  leftOut: { id: string; name: string | null; by: string }[];
}

/** The states in which a volume's rbd image exists and is settled. */
const SETTLED = new Set(["available", "in-use"]);

/**
 * How each image-backed volume was built on the site's cluster, from `rbd ls -l` of its volumes pool:
 * volume-<id> must be there, with parent <imagesPool>/<image id>@<snapshot>. At most `max` are judged. What `madeBy`
 * names (a dcn-verify run or canary set, as naming.ts's madeByHarness tells) is left out first, in whatever state.
 */
export function auditImageVolumes(
  volumes: Volume[],
  entries: RbdEntry[],
  o: { imagesPool: string; imageSnapshot: string; max: number; madeBy?: (v: Volume) => string | undefined },
): ImageVolumeAudit {
  const a: ImageVolumeAudit = { clones: [], full: [], missing: [], wrongParent: [], unchecked: [], notJudged: [], leftOut: [] };
  const operators: Volume[] = [];
  for (const v of volumes) {
    const by = o.madeBy?.(v);
    if (by) a.leftOut.push({ id: v.id, name: v.name, by });
    else operators.push(v);
  }
  const settled = operators.filter((v) => SETTLED.has(v.status));
  a.notJudged = operators.filter((v) => !SETTLED.has(v.status)).map((v) => ({ id: v.id, name: v.name, status: v.status }));
  for (const [i, v] of settled.entries()) {
    const image = String(v.volume_image_metadata?.image_id);
    const base = { id: v.id, name: v.name, image };
    if (i >= o.max) {
      a.unchecked.push({ ...base, rbd: "not looked at" });
      continue;
    }
    const e = entries.find((x) => x.image === `volume-${v.id}` && !x.snapshot);
    const want = `${o.imagesPool}/${image}@${o.imageSnapshot}`;
    if (!e) a.missing.push({ ...base, rbd: "not in the pool" });
    else if (!e.parent) a.full.push({ ...base, rbd: "no parent (full copy)" });
    else if (parentSpec(e.parent) !== want) a.wrongParent.push({ ...base, rbd: `parent ${parentSpec(e.parent)}, expected ${want}` });
    else a.clones.push({ ...base, rbd: `parent ${want}` });
  }
  return a;
}
