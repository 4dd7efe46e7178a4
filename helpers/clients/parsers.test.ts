import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { z } from "zod";
import { PACKAGE_ROOT } from "../core/package-root.ts";
import {
  aggregateSchema,
  computeAzSchema,
  computeEndpoint,
  computeServiceSchema,
  flavorSchema,
  hypervisorSchema,
  imageIdFromLocation,
} from "./compute.ts";
import { catalogEntrySchema, findEndpoint, tokenSchema } from "./identity.ts";
import {
  defaultStore,
  imageSchema,
  importBody,
  importInfoSchema,
  locationForStore,
  locationFsid,
  parseRbdLocation,
  sameStores,
  storeDetailSchema,
  storeSchema,
  taskSchema,
} from "./image.ts";
import { negotiateMicroversion, versionRoot, versionsSchema } from "./microversion.ts";
import {
  backendPoolSchema,
  rbdBackendTarget,
  snapshotSchema,
  volumeAzSchema,
  volumeEndpoint,
  volumeSchema,
  volumeServiceSchema,
} from "./volume.ts";

const FIXTURES = join(PACKAGE_ROOT, "fixtures", "openstack");
const fixture = (name: string): any => JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), "utf8"));
const manifest = fixture("manifest") as { central: string; edges: string[] };
const allStores = [manifest.central, ...manifest.edges];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("Glance parsers on recorded bodies", () => {
  test("/v2/info/stores keeps the flags as the strings Glance sends", () => {
    const raw = fixture("glance-info-stores");
    const stores = z.array(storeSchema).parse(raw.stores);
    expect(stores.map((s) => s.id)).toEqual(allStores);
    expect(stores.find((s) => s.id === manifest.central)!.default).toBe("true");
    expect(defaultStore(stores)).toBe(manifest.central);
    expect(() => storeSchema.parse({ ...raw.stores[0], default: true })).toThrow();
  });

  test("/v2/info/stores/detail gives type and pool (this Glance does not report the fsid)", () => {
    const stores = z.array(storeDetailSchema).parse(fixture("glance-info-stores-detail").stores);
    for (const s of stores) {
      expect(s.type).toBe("rbd");
      expect(s.properties.pool).toBe("images");
    }
  });

  test("/v2/info/import lists copy-image", () => {
    expect(importInfoSchema.parse(fixture("glance-info-import"))["import-methods"].value).toContain("copy-image");
  });

  test("a queued image has no stores, and no import has started", () => {
    const img = imageSchema.parse(fixture("glance-image-queued"));
    expect(img.status).toBe("queued");
    expect(img.stores).toEqual([]);
    expect(img.os_glance_importing_to_stores).toBeUndefined();
    expect(img.os_glance_failed_import).toBeUndefined();
    expect("os_glance_importing_to_stores" in img).toBe(false);
    expect(img.locations).toEqual([]);
  });

  test("unknown fields survive parsing", () => {
    const raw = fixture("glance-image-queued");
    const img = imageSchema.parse({ ...raw, dcnv_extra: "kept" });
    expect(img.file).toBe(raw.file);
    expect(img.schema).toBe("/v2/schemas/image");
    expect(img.dcnv_extra).toBe("kept");
  });

  test("an image uploaded to central: one store, one rbd location on central's cluster", () => {
    const img = imageSchema.parse(fixture("glance-image-active-central"));
    expect(img.status).toBe("active");
    expect(img.stores).toEqual([manifest.central]);
    expect(img.os_glance_importing_to_stores).toBeUndefined();
    expect(img.locations).toHaveLength(1);
    const loc = parseRbdLocation(locationForStore(img, manifest.central)!.url);
    expect(loc).toEqual({ fsid: expect.stringMatching(UUID), pool: "images", image: img.id, snapshot: "snap" });
    expect(img.direct_url).toBe(img.locations![0]!.url);
  });

  test("right after the 202 the import properties are absent; while copying, the stores left are listed", () => {
    const pending = imageSchema.parse(fixture("glance-image-copy-not-started"));
    expect(pending.os_glance_importing_to_stores).toBeUndefined();
    expect(pending.os_glance_import_task).toMatch(UUID);
    const copying = imageSchema.parse(fixture("glance-image-copying"));
    expect(sameStores(copying.os_glance_importing_to_stores!, manifest.edges)).toBe(true);
    expect(copying.os_glance_failed_import).toEqual([]);
    expect(copying.stores).toEqual([manifest.central]);
  });

  test("an image copied to the edges: every store, an empty importing list, a distinct fsid per site", () => {
    const raw = fixture("glance-image-copied");
    const img = imageSchema.parse(raw);
    expect(raw.stores).toMatch(/,/);
    expect(sameStores(img.stores, allStores)).toBe(true);
    expect(img.os_glance_importing_to_stores).toEqual([]);
    expect(img.os_glance_failed_import).toEqual([]);
    const fsids = allStores.map((s) => locationFsid(img, s));
    expect(new Set(fsids).size).toBe(allStores.length);
    for (const s of allStores)
      expect(parseRbdLocation(locationForStore(img, s)!.url)).toMatchObject({ pool: "images", image: img.id, snapshot: "snap" });
    expect(() => locationFsid(img, "nowhere")).toThrow(`image ${img.id} has no location in store 'nowhere' (locations in: `);
  });

  test("the image's tasks carry the import's request id", () => {
    const tasks = z.array(taskSchema).parse(fixture("glance-image-tasks").tasks);
    expect(tasks.length).toBeGreaterThan(0);
    expect(tasks[0]!.request_id).toMatch(/^req-/);
    expect(tasks.map((t) => t.status)).toContain("success");
  });

  test("a listing parses every image", () => {
    const list = fixture("glance-images-list");
    expect(z.array(imageSchema).parse(list.images)).toHaveLength(1);
  });

  test("copy-image to a store that has the image is a 400 that says so", () => {
    const e = fixture("glance-error-copy-to-present-store");
    expect(e.status).toBe(400);
    expect(e.detail).toContain(`Image is already present at store '${manifest.central}'`);
  });

  test("an unknown store is a 409", () => {
    expect(fixture("glance-error-unknown-store").status).toBe(409);
  });
});

describe("stores and locations", () => {
  test("store lists: '' is [], order is kept, comparison is by set", () => {
    const base = fixture("glance-image-queued");
    expect(imageSchema.parse({ ...base, stores: "dcn1,central,dcn0" }).stores).toEqual(["dcn1", "central", "dcn0"]);
    expect(imageSchema.parse({ ...base, os_glance_importing_to_stores: "" }).os_glance_importing_to_stores).toEqual([]);
    expect(imageSchema.parse({ ...base, os_glance_failed_import: "dcn0" }).os_glance_failed_import).toEqual(["dcn0"]);
    expect(sameStores(["dcn1", "central"], ["central", "dcn1"])).toBe(true);
    expect(sameStores(["central"], ["central", "dcn1"])).toBe(false);
  });

  test("parseRbdLocation follows glance_store", () => {
    expect(parseRbdLocation("rbd://f%2Fs/images/abc/snap")).toEqual({ fsid: "f/s", pool: "images", image: "abc", snapshot: "snap" });
    expect(() => parseRbdLocation("rbd://legacy-image")).toThrow(
      "legacy rbd location without fsid, pool and snapshot (Cinder cannot clone it): rbd://legacy-image",
    );
    expect(() => parseRbdLocation("rbd://a/b/c")).toThrow("rbd location must have 1 or 4 components, got 3: rbd://a/b/c");
    expect(() => parseRbdLocation("rbd://a//c/d")).toThrow("empty component");
    expect(() => parseRbdLocation("file:///x")).toThrow("not an rbd location");
  });

  test("the import body matches glance's import_image", () => {
    expect(importBody({ method: "copy-image", stores: ["dcn0", "dcn1"], allStoresMustSucceed: false })).toEqual({
      method: { name: "copy-image" },
      stores: ["dcn0", "dcn1"],
      all_stores_must_succeed: false,
    });
    expect(importBody({ method: "web-download", uri: "http://x/y.img", allStores: true })).toEqual({
      method: { name: "web-download", uri: "http://x/y.img" },
      all_stores: true,
    });
  });
});

describe("Cinder parsers on recorded bodies", () => {
  test("volumes, snapshots, zones and services", () => {
    const creating = volumeSchema.parse(fixture("cinder-volume-creating").volume);
    const vol = volumeSchema.parse(fixture("cinder-volume-available-from-image").volume);
    expect(creating.id).toBe(vol.id);
    expect(vol.status).toBe("available");
    expect(vol.availability_zone).toBe(manifest.edges[0]);
    expect(vol.bootable).toBe("true");
    expect(vol.volume_image_metadata).toBeDefined();
    const snap = snapshotSchema.parse(fixture("cinder-snapshot-available").snapshot);
    expect([snap.status, snap.volume_id]).toEqual(["available", vol.id]);
    expect(z.array(volumeSchema).parse(fixture("cinder-volumes-detail").volumes)).toHaveLength(1);
    const zones = z.array(volumeAzSchema).parse(fixture("cinder-availability-zones").availabilityZoneInfo);
    expect(zones.map((z) => z.zoneName).sort()).toEqual([...allStores].sort());
    const services = z.array(volumeServiceSchema).parse(fixture("cinder-services").services);
    expect(
      services
        .filter((s) => s.binary === "cinder-volume")
        .map((s) => s.zone)
        .sort(),
    ).toEqual([...allStores].sort());
  });

  test("each RBD backend pool names the Ceph cluster it writes to", () => {
    const pools = z.array(backendPoolSchema).parse(fixture("cinder-pools-detail").pools);
    expect(pools.map((p) => p.name.split("#")[1]).sort()).toEqual([...allStores].sort());
    for (const p of pools) {
      const target = rbdBackendTarget(p)!;
      expect(target.cluster).toBe(p.capabilities?.volume_backend_name);
      expect(target.fsid).toMatch(/^[0-9a-f-]{36}$/);
      expect(target.pool).toBe("volumes");
    }
    expect(rbdBackendTarget({ name: "h@b#b", capabilities: { location_info: "nonsense" } })).toBeUndefined();
    expect(rbdBackendTarget({ name: "h@b#b" })).toBeUndefined();
  });

  test("the version document gives the microversion range", () => {
    const doc = versionsSchema.parse(fixture("cinder-versions"));
    expect(negotiateMicroversion(doc, "3", "3.60", "volume")).toBe("3.60");
    expect(negotiateMicroversion(doc, "3", "3.999", "volume")).toBe(doc.versions.find((v) => v.id === "v3.0")!.version);
  });

  test("volume URLs get the project id the older microversions need", () => {
    expect(volumeEndpoint("http://h:8776/v3/p1", "p1")).toBe("http://h:8776/v3/p1");
    expect(volumeEndpoint("http://h:8776/v3/", "p1")).toBe("http://h:8776/v3/p1");
    expect(volumeEndpoint("http://h:8776", "p1")).toBe("http://h:8776/v3/p1");
    expect(versionRoot("http://h:8776/v3/p1")).toBe("http://h:8776");
  });
});

describe("Nova parsers on recorded bodies", () => {
  test("zones, hypervisors, services, aggregates, flavors", () => {
    const zones = z.array(computeAzSchema).parse(fixture("nova-availability-zones-detail").availabilityZoneInfo);
    for (const s of allStores) expect(zones.map((z) => z.zoneName)).toContain(s);
    expect(z.array(hypervisorSchema).parse(fixture("nova-hypervisors-detail").hypervisors).length).toBeGreaterThanOrEqual(allStores.length);
    expect(
      z
        .array(computeServiceSchema)
        .parse(fixture("nova-services").services)
        .some((s) => s.binary === "nova-compute"),
    ).toBe(true);
    const aggs = z.array(aggregateSchema).parse(fixture("nova-aggregates").aggregates);
    expect(aggs.map((a) => a.availability_zone).sort()).toEqual(expect.arrayContaining(manifest.edges));
    expect(z.array(flavorSchema).parse(fixture("nova-flavors-detail").flavors).length).toBeGreaterThan(0);
  });

  test("the version document allows networks none and image_id in the body", () => {
    const doc = versionsSchema.parse(fixture("nova-versions"));
    expect(negotiateMicroversion(doc, "2", "2.60", "compute")).toBe("2.60");
  });

  test("the image id is at the end of the Location header before 2.45", () => {
    expect(imageIdFromLocation("http://127.0.0.1:9292/v2/images/0f3c2b5e-9b1a-4c1e-8d7f-2a3b4c5d6e7f")).toBe(
      "0f3c2b5e-9b1a-4c1e-8d7f-2a3b4c5d6e7f",
    );
    expect(imageIdFromLocation(undefined)).toBeUndefined();
    expect(computeEndpoint("http://h:8774")).toBe("http://h:8774/v2.1");
    expect(computeEndpoint("http://h:8774/v2.1/")).toBe("http://h:8774/v2.1");
  });
});

describe("Keystone parsers on recorded bodies", () => {
  test("the token body and its catalog", () => {
    const token = tokenSchema.parse(fixture("keystone-token")).token;
    const catalog = z.array(catalogEntrySchema).parse(token.catalog);
    for (const type of ["identity", "image", "compute", "network", "placement"]) {
      expect(findEndpoint(catalog, type, { interface: "public" })).toMatch(/^http/);
    }
    expect(findEndpoint(catalog, "volumev3", { interface: "public" })).toMatch(/\/v3\//);
  });
});
