import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import {
  type Canary,
  CANARY_KINDS,
  type CanaryManifest,
  canaryMetadata,
  canaryOf,
  compareCanary,
  formatDifference,
  headBytesOf,
  inventoryMetadata,
  inventoryOf,
  ManifestError,
  readManifest,
  rebuildManifest,
  type ListedResource,
  shaFact,
  writeManifest,
} from "../harness/canary.ts";
import { removalOrder } from "./canary-cloud.ts";

const image: Canary = {
  kind: "image",
  id: "0b66b37e-1111-4c4c-8888-0123456789ab",
  name: "dcnv-20261201t230744-1e40-dcn0-canary-image",
  facts: {
    stores: "central,dcn0",
    "location central fsid": "cf6e3702-e8e6-4005-bc31-d3d09c4507b8",
    "location dcn0 fsid": "d502b195-3d48-4009-8202-2c03e581d034",
    "sha512 at dcn0": "ab".repeat(64),
    "snapshot dcn0 protected": "yes",
  },
};

const manifest = (): CanaryManifest => ({
  version: 1,
  setId: "canary-20261201t230744-1e40",
  cloud: { authUrl: "http://127.0.0.1:5000/v3", region: "RegionOne", project: "admin" },
  plantedAt: "2026-12-01T23:07:44.000Z",
  tier: "standard",
  sites: [{ site: "dcn0", fsid: "d502b195-3d48-4009-8202-2c03e581d034", canaries: [image] }],
});

describe("canary comparison", () => {
  test("the same facts: no difference", () => {
    expect(compareCanary("dcn0", image, { facts: { ...image.facts } })).toEqual({ differences: [], notVerified: [] });
  });

  test("each changed, lost or new fact is named with both values", () => {
    const { "snapshot dcn0 protected": _, ...rest } = image.facts;
    const r = compareCanary("dcn0", image, {
      facts: { ...rest, stores: "central", "sha512 at dcn0": "cd".repeat(64), "rbd parent": "none" },
    });
    expect(r.differences.map((d) => formatDifference(d))).toEqual([
      `[dcn0] image ${image.id}: stores was central,dcn0, is central`,
      `[dcn0] image ${image.id}: sha512 at dcn0 was ${"ab".repeat(64)}, is ${"cd".repeat(64)}`,
      `[dcn0] image ${image.id}: snapshot dcn0 protected was yes, is (none)`,
      `[dcn0] image ${image.id}: rbd parent was (none), is none`,
    ]);
  });

  test("a canary that is gone is one difference; a fact verify could not read is not verified, never a pass or a difference", () => {
    expect(compareCanary("dcn0", image, undefined).differences.map((d) => formatDifference(d))).toEqual([
      `[dcn0] image ${image.id}: exists was yes, is no (not found)`,
    ]);
    const r = compareCanary("dcn0", image, {
      facts: { stores: "central,dcn0" },
      unread: ["location central fsid", "location dcn0 fsid", "sha512 at dcn0", "snapshot dcn0 protected"],
    });
    expect(r).toEqual({
      differences: [],
      notVerified: ["location central fsid", "location dcn0 fsid", "sha512 at dcn0", "snapshot dcn0 protected"],
    });
  });
});

describe("the manifest file", () => {
  test("is written whole and read back", () => {
    const path = join(mkdtempSync(join(tmpdir(), "dcnv-canary-")), "canaries.json");
    writeManifest(path, manifest());
    expect(readManifest(path)).toEqual(manifest());
  });

  test("a bad manifest is refused naming the file and each wrong field", () => {
    const dir = mkdtempSync(join(tmpdir(), "dcnv-canary-"));
    const path = join(dir, "canaries.json");
    writeFileSync(
      path,
      JSON.stringify({ ...manifest(), setId: "20261201t230744-1e40", sites: [{ site: "dcn0", canaries: [{ ...image, kind: "share" }] }] }),
    );
    const err = (() => {
      try {
        readManifest(path);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(ManifestError);
    expect(err!.message).toContain(`canary manifest ${path}:`);
    expect(err!.message).toContain("setId: a canary set id: canary-<run id>");
    expect(err!.message).toMatch(/sites\[0\]\.canaries\[0\]\.kind: /);
    writeFileSync(path, JSON.stringify({ ...manifest(), sites: [manifest().sites[0], manifest().sites[0]] }));
    expect(() => readManifest(path)).toThrow(`canary manifest ${path}: site dcn0 is listed twice`);
    writeFileSync(path, "{");
    expect(() => readManifest(path)).toThrow(new RegExp(`^canary manifest ${path}: `));
    expect(readFileSync(path, "utf8")).toBe("{");
  });
});

const nameOf = (site: string, kind: string) => `dcnv-20261201t230744-1e40-${site}-canary-${kind}`;

describe("canaries in the cloud", () => {
  const set = "canary-20261201t230744-1e40";
  const volume: Canary = {
    kind: "volume",
    id: "5d2b8f4e-2222-4c4c-8888-0123456789ab",
    name: "dcnv-20261201t230744-1e40-dcn0-canary-volume",
    facts: { status: "available", "rbd parent": `images/${image.id}@snap`, [shaFact(67108864)]: "ab".repeat(64) },
  };

  test("a canary's facts go into its metadata and come back whole, beside the set's and the kind's marks", () => {
    const md = canaryMetadata(set, "image", image.facts);
    expect(md).toMatchObject({ dcn_verify_canary: set, dcn_verify_canary_kind: "image", "dcnv-fact:stores": "central,dcn0" });
    expect(canaryOf({ ...md, dcn_verify_run: "20261201t230744-1e40", name: "x" })).toEqual({
      setId: set,
      kind: "image",
      facts: image.facts,
    });
    expect(canaryOf({ dcn_verify_run: "20261201t230744-1e40" })).toBeUndefined();
    expect(headBytesOf(shaFact(67108864))).toBe(67108864);
    expect(headBytesOf("sha512 at dcn0")).toBeUndefined();
  });

  test("a fact that cannot be a metadata key or value is refused before anything is created", () => {
    expect(() => canaryMetadata(set, "image", { "location/dcn0": "x" })).toThrow(
      /canary fact name 'location\/dcn0' cannot be a metadata key/,
    );
    expect(() => canaryMetadata(set, "image", { stores: "x".repeat(256) })).toThrow(/stores: its value is longer than 255/);
  });

  test("a lost manifest is rebuilt from the set's marks: sites in the config's order, each site's canaries in plant order", () => {
    const listed = [
      { c: volume, site: "dcn0", at: "2026-12-01T23:09:00Z" },
      { c: image, site: "dcn0", at: "2026-12-01T23:08:00Z" },
      { c: { ...image, id: "0b66b37e-3333-4c4c-8888-0123456789ab" }, site: "dcn1", at: "2026-12-01T23:08:30Z" },
    ].map(({ c, site, at }) => ({ id: c.id, name: c.name, site, createdAt: at, metadata: canaryMetadata(set, c.kind, c.facts) }));
    const other = { ...listed[0]!, id: "other", metadata: canaryMetadata("canary-20261101t000000-aaaa", "volume", {}) };
    const m = rebuildManifest(set, [...listed, other], {
      cloud: manifest().cloud,
      siteOrder: ["central", "dcn0", "dcn1"],
      fsids: { dcn0: "d502b195-3d48-4009-8202-2c03e581d034" },
      nameOf,
    })!;
    expect(m.sites.map((s) => [s.site, s.canaries.map((x) => x.id)])).toEqual([
      ["dcn0", [image.id, volume.id]],
      ["dcn1", ["0b66b37e-3333-4c4c-8888-0123456789ab"]],
    ]);
    expect(m.sites[0]!.canaries[1]).toEqual(volume);
    expect(m.plantedAt).toBe("2026-12-01T23:08:00.000Z");
    expect(rebuildManifest(set, [other], { cloud: manifest().cloud, siteOrder: [], fsids: {}, nameOf })).toBeUndefined();
  });

  test("remove goes last planted first, servers before the volumes they boot from and images last, with what only the cloud still lists", () => {
    const m = { ...manifest(), sites: [{ site: "dcn0", canaries: [image, volume] }] };
    const stray = {
      id: "srv",
      name: "dcnv-20261201t230744-1e40-dcn0-canary-server",
      site: "dcn0",
      createdAt: "2026-12-01T23:10:00Z",
      metadata: {},
      kind: "server" as const,
      setId: set,
    };
    expect(removalOrder(m, [stray]).map((r) => [r.canary, r.kind, r.id])).toEqual([
      ["server", "server", "srv"],
      ["volume", "volume", volume.id],
      ["image", "image", image.id],
    ]);
  });
});

describe("the set's inventory in the cloud: a rebuilt manifest names what is gone", () => {
  const set = "canary-20261201t230744-1e40";
  const id = (site: string, kind: string) => `${site}-${kind}-0000-4c4c-8888-0123456789ab`;
  /** What plant recorded: seven canaries at dcn0 and at dcn1, as the lab plants them. */
  const planted = ["dcn0", "dcn1"].map((site) => ({
    site,
    canaries: CANARY_KINDS.map((kind): Canary => ({
      kind,
      id: id(site, kind),
      name: nameOf(site, kind),
      facts: { status: kind === "server" ? "ACTIVE" : "available" },
    })),
  }));
  /** Each canary as the cloud lists it after plant: its marks, its facts and the set's inventory in its metadata. */
  const listed = (): ListedResource[] =>
    planted.flatMap((s) =>
      s.canaries.map((c, i) => ({
        id: c.id,
        name: c.name,
        site: s.site,
        createdAt: `2026-12-01T23:0${i}:00Z`,
        metadata: {
          dcn_verify_run: "20261201t230744-1e40",
          ...canaryMetadata(set, c.kind, c.facts),
          ...inventoryMetadata(planted, s.site),
        },
      })),
    );
  const rebuild = (found: ListedResource[]) =>
    rebuildManifest(set, found, { cloud: manifest().cloud, siteOrder: ["central", "dcn0", "dcn1"], fsids: {}, nameOf });

  test("every canary carries its site's canaries by kind and the set's sites, each value within 255 characters", () => {
    const md = inventoryMetadata(planted, "dcn0");
    expect(md).toEqual({
      ...Object.fromEntries(CANARY_KINDS.map((k) => [`dcnv-inventory:${k}`, id("dcn0", k)])),
      "dcnv-set-sites:0": "dcn0,dcn1",
    });
    expect(inventoryOf(md)).toEqual({ kinds: new Map(CANARY_KINDS.map((k) => [k, [id("dcn0", k)]])), sites: ["dcn0", "dcn1"] });
    expect(inventoryOf(canaryMetadata(set, "image", {}))).toEqual({});
    // Forty sites of 20 characters: the list goes on in further keys, none longer than 255.
    const many = Array.from({ length: 40 }, (_, i) => ({ site: `edge-site-number-${String(i).padStart(3, "0")}`, canaries: [] }));
    const big = inventoryMetadata([...planted, ...many], "dcn1");
    for (const [k, v] of Object.entries(big)) {
      expect(v.length, k).toBeLessThanOrEqual(255);
      expect(k).toMatch(/^[A-Za-z0-9-_:. ]+$/);
    }
    expect(Object.keys(big).filter((k) => k.startsWith("dcnv-set-sites:")).length).toBeGreaterThan(1);
    expect(inventoryOf(big).sites).toEqual(["dcn0", "dcn1", ...many.map((s) => s.site)]);
    expect(() => inventoryMetadata(planted, "dcn2")).toThrow(/has no site dcn2/);
    const crowded = [
      { site: "dcn0", canaries: Array.from({ length: 8 }, (_, i) => ({ ...planted[0]!.canaries[0]!, id: `${i}`.repeat(36) })) },
    ];
    expect(() => inventoryMetadata(crowded, "dcn0")).toThrow(/image canaries at dcn0: their ids are longer than 255 characters/);
  });

  test("with every canary there, the rebuilt manifest is the one plant wrote", () => {
    expect(rebuild(listed())!.sites).toEqual(planted);
  });

  test("a backup deleted through Cinder's API is still named, by its site's inventory on the other canaries", () => {
    const m = rebuild(listed().filter((r) => r.id !== id("dcn0", "backup")))!;
    const dcn0 = m.sites.find((s) => s.site === "dcn0")!;
    expect(dcn0.canaries.map((c) => c.kind)).toEqual([...CANARY_KINDS]);
    expect(dcn0.canaries.find((c) => c.kind === "backup")).toEqual({
      kind: "backup",
      id: id("dcn0", "backup"),
      name: "dcnv-20261201t230744-1e40-dcn0-canary-backup",
      facts: {},
      onlyInInventory: true,
    });
    expect(dcn0.everyCanaryGone).toBeUndefined();
    expect(m.sites.find((s) => s.site === "dcn1")!.canaries).toEqual(planted[1]!.canaries);
  });

  test("any one canary left at a site keeps the whole site's inventory", () => {
    const m = rebuild(listed().filter((r) => r.site !== "dcn0" || r.id === id("dcn0", "snapshot")))!;
    const dcn0 = m.sites.find((s) => s.site === "dcn0")!;
    expect(dcn0.canaries.map((c) => [c.kind, c.id, c.onlyInInventory ?? false])).toEqual(
      CANARY_KINDS.map((k) => [k, id("dcn0", k), k !== "snapshot"]),
    );
  });

  test("a site that lost every canary still appears, from the set's record on the other sites' canaries", () => {
    const m = rebuild(listed().filter((r) => r.site !== "dcn1"))!;
    expect(m.sites.map((s) => s.site)).toEqual(["dcn0", "dcn1"]);
    expect(m.sites[1]).toEqual({ site: "dcn1", canaries: [], everyCanaryGone: true });
    expect(m.sites[0]!.canaries).toEqual(planted[0]!.canaries);
  });

  test("a canary that lost its own metadata is named by the others' inventory; a set planted without one rebuilds as before", () => {
    const found = listed().map((r) => (r.id === id("dcn0", "server") ? { ...r, metadata: {} } : r));
    expect(rebuild(found)!.sites[0]!.canaries.find((c) => c.kind === "server")).toMatchObject({
      id: id("dcn0", "server"),
      onlyInInventory: true,
    });
    const old = listed()
      .filter((r) => r.id !== id("dcn0", "backup"))
      .map((r) => ({
        ...r,
        metadata: Object.fromEntries(
          Object.entries(r.metadata).filter(([k]) => !k.startsWith("dcnv-inventory:") && !k.startsWith("dcnv-set-sites:")),
        ),
      }));
    const m = rebuild(old)!;
    expect(m.sites[0]!.canaries.map((c) => c.kind)).toEqual(CANARY_KINDS.filter((k) => k !== "backup"));
    expect(m.sites.flatMap((s) => s.canaries).some((c) => c.onlyInInventory)).toBe(false);
  });

  test("a canary's metadata stays within the 128 items Nova and Glance allow by default, at forty sites", () => {
    const many = Array.from({ length: 40 }, (_, i) => ({ site: `edge-site-number-${String(i).padStart(3, "0")}`, canaries: [] }));
    const md = { ...canaryMetadata(set, "image", image.facts), ...inventoryMetadata([...planted, ...many], "dcn0") };
    expect(Object.keys(md).length).toBeLessThan(128 - 10);
  });
});
