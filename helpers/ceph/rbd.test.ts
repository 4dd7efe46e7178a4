import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import {
  parentSpec,
  parseCephFsid,
  parseCephStatus,
  parseRbdChildren,
  parseRbdDiff,
  parseRbdInfo,
  parseRbdList,
  parseRbdListText,
  parseRbdSnapshots,
  type RbdEntry,
} from "./rbd.ts";

const fixture = (...path: string[]) => readFileSync(join(import.meta.dirname, "../../fixtures/ceph", ...path), "utf8");

const VOLUME = "volume-28c6fc32-047b-4306-ad2d-de2be02716b7";
const PARENT = { pool: "images", pool_namespace: "", image: "8083c7e7-32d8-4f7a-b1da-0ed7884f1076", snapshot: "snap" };

describe("rbd ls -l text, as printed in the DCN guide (flattened onto one line)", () => {
  test("a volume cloned from the image snapshot", () => {
    expect(parseRbdListText(fixture("appendix", "rbd-ls-l.volume.txt"))).toEqual([
      { image: VOLUME, size: 8 * 2 ** 30, size_text: "8 GiB", parent: PARENT, format: 2, lock_type: "exclusive" },
    ]);
  });

  test("the volume and its protected Cinder snapshot", () => {
    const [volume, snapshot] = parseRbdListText(fixture("appendix", "rbd-ls-l.volume-and-snapshot.txt"));
    expect(volume).toMatchObject({ image: VOLUME, lock_type: "exclusive" });
    expect(snapshot).toEqual({
      image: VOLUME,
      snapshot: "snapshot-a1ca8602-6819-45b4-a228-b4cd3e5adf60",
      size: 8 * 2 ** 30,
      size_text: "8 GiB",
      parent: PARENT,
      format: 2,
      protected: true,
    });
    expect(parentSpec(snapshot!.parent!)).toBe("images/8083c7e7-32d8-4f7a-b1da-0ed7884f1076@snap");
  });
});

describe("rbd ls -l text, as a table", () => {
  const table = [
    "NAME                  SIZE     PARENT                    FMT  PROT  LOCK",
    "base                  1 GiB                                2            ",
    "base@snap             1 GiB                                2  yes       ",
    "base@plain          512 MiB                                2            ",
    "child               1.5 GiB    volumes/ns1/base@snap       2        shr ",
    "",
  ].join("\n");

  test("parses rows with empty cells, namespaces and fractional sizes", () => {
    expect(parseRbdListText(table)).toEqual([
      { image: "base", size: 2 ** 30, size_text: "1 GiB", format: 2 },
      { image: "base", snapshot: "snap", size: 2 ** 30, size_text: "1 GiB", format: 2, protected: true },
      { image: "base", snapshot: "plain", size: 512 * 2 ** 20, size_text: "512 MiB", format: 2, protected: false },
      {
        image: "child",
        size: 1.5 * 2 ** 30,
        size_text: "1.5 GiB",
        parent: { pool: "volumes", pool_namespace: "ns1", image: "base", snapshot: "snap" },
        format: 2,
        lock_type: "shared",
      },
    ]);
  });

  test("an empty pool prints nothing", () => {
    expect(parseRbdListText("")).toEqual([]);
  });

  test("unexpected text fails with the row in the message", () => {
    expect(() => parseRbdListText("NAME SIZE PARENT FMT PROT LOCK\nvol 8 GB 2")).toThrow(/SIZE is not '<number> <unit>'.*"vol 8 GB 2"/);
    expect(() => parseRbdListText("rbd: error opening pool 'volumes'")).toThrow(/expected the header/);
  });
});

describe("JSON parsers", () => {
  test("rbd ls -l --format json turns protected into a boolean and keeps unknown fields", () => {
    const [image, snap] = parseRbdList(
      JSON.stringify([
        { image: "v", id: "10ab", size: 1024, format: 2, lock_type: "exclusive", future_field: 1 },
        { image: "v", id: "10ab", snapshot: "s", snapshot_id: 4, size: 1024, parent: PARENT, format: 2, protected: "false" },
      ]),
    );
    expect(image).toMatchObject({ lock_type: "exclusive", future_field: 1 });
    expect(snap).toMatchObject({ snapshot: "s", protected: false, parent: PARENT });
  });

  test("a schema mismatch names the command and shows the output", () => {
    expect(() => parseRbdList('[{"image":"v"}]')).toThrow(
      /rbd ls -l --format json: unexpected output[\s\S]*size[\s\S]*received: \[\{"image":"v"\}\]/,
    );
    expect(() => parseRbdSnapshots("rbd: error")).toThrow(/rbd snap ls --format json: output is not JSON/);
  });

  test("rbd info keeps the parent overlap", () => {
    const info = parseRbdInfo(JSON.stringify({ name: "v", size: 1, format: 2, parent: { ...PARENT, id: "1", trash: false, overlap: 1 } }));
    expect(info.parent).toMatchObject({ pool: "images", overlap: 1 });
  });

  test("ceph -s health checks", () => {
    const status = parseCephStatus(
      JSON.stringify({
        fsid: "0f9ee397-8b6d-483e-8d10-9bbfe358836c",
        health: {
          status: "HEALTH_WARN",
          checks: {
            MON_DISK_LOW: { severity: "HEALTH_WARN", summary: { message: "mon a is low on available space", count: 1 }, muted: false },
          },
          mutes: [],
        },
      }),
    );
    expect(status.health.checks.MON_DISK_LOW?.summary.message).toBe("mon a is low on available space");
  });

  test("ceph fsid, plain or JSON", () => {
    expect(parseCephFsid("0F9EE397-8B6D-483E-8D10-9BBFE358836C\n")).toBe("0f9ee397-8b6d-483e-8d10-9bbfe358836c");
    expect(parseCephFsid('{"fsid":"0f9ee397-8b6d-483e-8d10-9bbfe358836c"}')).toBe("0f9ee397-8b6d-483e-8d10-9bbfe358836c");
    expect(() => parseCephFsid("no")).toThrow(/not a cluster fsid/);
  });
});

const RECORDED = ["recorded", "recorded-throwaway"].flatMap((set) =>
  readdirSync(join(import.meta.dirname, "../../fixtures/ceph", set)).map((site) => [`${set}/${site}`] as const),
);

/** What the text table can carry; sizes are compared separately because rbd rounds them. */
const comparable = ({ image, snapshot, parent, format, protected: prot, lock_type }: RbdEntry) => ({
  image,
  snapshot,
  parent,
  format,
  protected: prot,
  lock_type,
});

describe.each(RECORDED)("outputs recorded from the lab: %s", (dir) => {
  const read = (file: string) => fixture(dir, file);
  const has = (file: string) => existsSync(join(import.meta.dirname, "../../fixtures/ceph", dir, file));

  test("ceph -s, ceph fsid and ceph fsid --format json agree on the fsid", () => {
    const status = parseCephStatus(read("ceph-s.json"));
    expect(parseCephFsid(read("ceph-fsid.txt"))).toBe(status.fsid);
    expect(parseCephFsid(read("ceph-fsid.json"))).toBe(status.fsid);
    expect(status.health.status).toMatch(/^HEALTH_(OK|WARN|ERR)$/);
  });

  test("ceph version --format json names the release", () => {
    expect(JSON.parse(read("ceph-version.json")).version).toMatch(/^ceph version \d+\.\d+\.\d+ /);
  });

  test.each(["images", "volumes"])("rbd ls -l of %s: the text table and the JSON say the same", (pool) => {
    const json = parseRbdList(read(`rbd-ls-l.${pool}.json`));
    const text = parseRbdListText(read(`rbd-ls-l.${pool}.txt`));
    expect(text.map(comparable)).toEqual(json.map(comparable));
    for (const [i, t] of text.entries()) expect(Math.abs(t.size - json[i]!.size)).toBeLessThanOrEqual(json[i]!.size * 0.01);
  });

  test.skipIf(!has("rbd-snap-ls.image.json"))("a Glance image carries a protected snapshot named snap", () => {
    expect(parseRbdSnapshots(read("rbd-snap-ls.image.json"))).toContainEqual(expect.objectContaining({ name: "snap", protected: true }));
    expect(parseRbdInfo(read("rbd-info.image-snap.json")).protected).toBe(true);
    expect(parseRbdInfo(read("rbd-info.image.json")).snapshot_count).toBeGreaterThanOrEqual(1);
  });

  test.skipIf(!has("rbd-info.volume-clone.json"))("a clone's info, its parent's snapshot and the parent's children agree", () => {
    const clone = parseRbdInfo(read("rbd-info.volume-clone.json"));
    const parent = clone.parent!;
    expect(parseRbdList(read("rbd-ls-l.volumes.json"))).toContainEqual(
      expect.objectContaining({
        image: clone.name,
        parent: { pool: parent.pool, pool_namespace: "", image: parent.image, snapshot: parent.snapshot },
      }),
    );
    expect(parseRbdSnapshots(read("rbd-snap-ls.parent.json"))).toContainEqual(
      expect.objectContaining({ name: parent.snapshot, protected: true }),
    );
    expect(parseRbdInfo(read("rbd-info.parent-snap.json"))).toMatchObject({ name: parent.image, protected: true });
    expect(parseRbdChildren(read("rbd-children.parent-snap.json"))).toContainEqual(
      expect.objectContaining({ pool: "volumes", image: clone.name }),
    );
  });
});

describe("rbd diff --format json, recorded from the lab", () => {
  test("an 8 MiB image in 1 GiB lists its two 4 MiB objects as existing, and nothing after them", () => {
    const MiB = 1024 * 1024;
    expect(parseRbdDiff(fixture("recorded", "dcn0", "rbd-diff.image-snap.json"))).toEqual([
      { offset: 0, length: 4 * MiB, exists: true },
      { offset: 4 * MiB, length: 4 * MiB, exists: true },
    ]);
  });

  test("output that is not a list of extents is refused, naming the command", () => {
    expect(() => parseRbdDiff('[{"offset":"0"}]')).toThrow(/rbd diff --format json: unexpected output/);
  });
});

describe("what the recordings must cover", () => {
  test("dcn0 holds a Cinder volume cloned from images/<id>@snap", () => {
    const volumes = parseRbdList(fixture("recorded", "dcn0", "rbd-ls-l.volumes.json"));
    expect(volumes).toContainEqual(
      expect.objectContaining({
        image: expect.stringMatching(/^volume-/),
        parent: expect.objectContaining({ pool: "images", snapshot: "snap" }),
      }),
    );
    expect(parseRbdInfo(fixture("recorded", "dcn0", "rbd-info.volume-clone.json")).parent).toMatchObject({
      pool: "images",
      snapshot: "snap",
    });
  });

  test("the throwaway recording has a protected snapshot of a clone (PROT yes)", () => {
    const rows = parseRbdListText(fixture("recorded-throwaway", "dcn0", "rbd-ls-l.volumes.txt"));
    expect(rows).toContainEqual(
      expect.objectContaining({ snapshot: expect.stringMatching(/^snapshot-/), protected: true, parent: expect.anything() }),
    );
  });

  test("each site has its own cluster fsid", () => {
    const fsids = ["central", "dcn0", "dcn1"].map((site) => parseCephFsid(fixture("recorded", site, "ceph-fsid.txt")));
    expect(new Set(fsids).size).toBe(3);
  });
});
