import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { z } from "zod";
import { imageSchema, storeDetailSchema } from "./image.ts";
import { PACKAGE_ROOT } from "../core/package-root.ts";
import { storeCluster } from "./store-cluster.ts";

const fixture = (name: string): any => JSON.parse(readFileSync(join(PACKAGE_ROOT, "fixtures", "openstack", `${name}.json`), "utf8"));
const detail = z.array(storeDetailSchema).parse(fixture("glance-info-stores-detail").stores);
const copied = imageSchema.parse(fixture("glance-image-copied"));

describe("the Ceph cluster a Glance store writes to (rule-1)", () => {
  test("stock Glance's stores detail names no fsid: an active image's rbd location in the store does", () => {
    expect(detail.every((s) => s.properties.fsid === undefined)).toBe(true);
    const dcn0 = copied.locations!.find((l) => l.metadata.store === "dcn0")!.url;
    expect(storeCluster("dcn0", detail, [copied])).toEqual({
      kind: "fsid",
      fsid: dcn0.split("/")[2],
      from: `image ${copied.id}'s location ${dcn0}`,
      image: copied.id,
    });
  });

  test("a stores detail that reports the fsid is taken first; a store of another type writes to no Ceph cluster", () => {
    const fsid = "11111111-2222-3333-4444-555555555555";
    const withFsid = detail.map((s) => (s.id === "dcn0" ? { ...s, properties: { ...s.properties, fsid } } : s));
    expect(storeCluster("dcn0", withFsid, [copied])).toEqual({ kind: "fsid", fsid, from: "GET /v2/info/stores/detail" });
    const file = detail.map((s) => (s.id === "dcn0" ? { ...s, type: "file" } : s));
    expect(storeCluster("dcn0", file, [copied])).toEqual({ kind: "not-rbd", type: "file" });
  });

  test("without an fsid anywhere it is unknown, saying why: no image in the store, or no location shown", () => {
    expect(storeCluster("dcn0", detail, [])).toEqual({
      kind: "unknown",
      why: "Glance's stores detail reports no fsid for it, and it holds no active image whose location would name the cluster",
    });
    const hidden = { ...copied, locations: undefined };
    expect(storeCluster("dcn0", undefined, [hidden, { ...copied, status: "queued" as const }])).toEqual({
      kind: "unknown",
      why:
        "Glance's stores detail was not read, and none of the 1 active image(s) in it shows an rbd location with its fsid " +
        "(locations need show_multiple_locations and the admin role)",
    });
  });
});
