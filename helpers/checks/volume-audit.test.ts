import { describe, expect, test } from "vitest";
import type { RbdEntry } from "../ceph/rbd.ts";
import type { Volume } from "../clients/volume.ts";
import { auditImageVolumes } from "./volume-audit.ts";

const vol = (id: string, image: string, status = "available"): Volume =>
  ({
    id,
    name: `v-${id}`,
    status,
    size: 1,
    availability_zone: "dcn0",
    attachments: [],
    metadata: {},
    volume_image_metadata: { image_id: image },
    created_at: "",
  }) as Volume;
const rbd = (image: string, parent?: { pool: string; image: string; snapshot: string }): RbdEntry =>
  ({ image, size: 1, format: 2, ...(parent ? { parent: { pool_namespace: "", ...parent } } : {}) }) as RbdEntry;
const o = { imagesPool: "images", imageSnapshot: "snap", max: 10 };

describe("auditImageVolumes", () => {
  test("a clone of images/<image>@snap passes; a full copy, a missing rbd image and a wrong parent are each named", () => {
    const a = auditImageVolumes(
      [vol("1", "img-a"), vol("2", "img-a"), vol("3", "img-b"), vol("4", "img-b")],
      [
        rbd("volume-1", { pool: "images", image: "img-a", snapshot: "snap" }),
        rbd("volume-2"),
        rbd("volume-4", { pool: "images", image: "img-a", snapshot: "snap" }),
      ],
      o,
    );
    expect(a.clones.map((v) => v.id)).toEqual(["1"]);
    expect(a.full).toEqual([{ id: "2", name: "v-2", image: "img-a", rbd: "no parent (full copy)" }]);
    expect(a.missing).toEqual([{ id: "3", name: "v-3", image: "img-b", rbd: "not in the pool" }]);
    expect(a.wrongParent).toEqual([{ id: "4", name: "v-4", image: "img-b", rbd: "parent images/img-a@snap, expected images/img-b@snap" }]);
  });

  test("past the bound the volumes are not looked at, and a volume not settled is not judged", () => {
    const a = auditImageVolumes([vol("1", "x"), vol("2", "x"), vol("3", "x", "error")], [], { ...o, max: 1 });
    expect(a.missing.map((v) => v.id)).toEqual(["1"]);
    expect(a.unchecked.map((v) => v.id)).toEqual(["2"]);
    expect(a.notJudged).toEqual([{ id: "3", name: "v-3", status: "error" }]);
  });

  test("what madeBy names (another run, a canary set) is left out whatever its state; the operator's are judged", () => {
    const made: Record<string, string> = {
      "2": "dcn-verify run 20261123t150000-abcd",
      "3": "dcn-verify canary set canary-20261120t101010-beef",
    };
    const a = auditImageVolumes([vol("1", "x"), vol("2", "x"), vol("3", "x", "creating"), vol("4", "x", "error")], [rbd("volume-1")], {
      ...o,
      madeBy: (v) => made[v.id],
    });
    expect(a.leftOut).toEqual([
      { id: "2", name: "v-2", by: "dcn-verify run 20261123t150000-abcd" },
      { id: "3", name: "v-3", by: "dcn-verify canary set canary-20261120t101010-beef" },
    ]);
    expect(a.full.map((v) => v.id)).toEqual(["1"]);
    expect(a.missing).toEqual([]);
    expect(a.notJudged).toEqual([{ id: "4", name: "v-4", status: "error" }]);
  });
});
