import { beforeEach, describe, expect, test } from "vitest";
import { CephCommandError } from "../ceph/probe.ts";
import { configSchema } from "../config/schema.ts";
import { validConfig } from "../config/testing.ts";
import { formatRbdNotChecked, idsInRbdName, matchRbdLeftovers, scanRbdLeftovers } from "./rbd-leftovers.ts";
import type { TrackedResource } from "./resources.ts";

const IMG = "0b5c4f1e-1111-4c6e-9a55-0123456789ab";
const VOL = "7d1e2f3a-2222-4b5c-8d9e-0123456789ab";
const SNAP = "9a8b7c6d-3333-4e5f-a1b2-0123456789ab";
const BAK = "5e6f7a8b-4444-4c3d-b2a1-0123456789ab";

const pools = { lists: [] as Record<string, { image: string; snapshot?: string }[]>[], calls: 0 };
/** dcn0's pools as the scans find them, one listing per call (the last one repeats); the other sites' are empty. */
const probeOf = (site: { name: string }) => ({
  rbdList: async (pool: string) => {
    pools.calls++;
    const now = pools.lists[Math.min(pools.calls - 1, pools.lists.length - 1)]!;
    if (site.name !== "dcn0") return [];
    if (!(pool in now))
      throw new CephCommandError(
        site.name,
        "local",
        `rbd -p ${pool} ls -l`,
        2,
        `rbd: error opening pool '${pool}': (2) No such file or directory`,
      );
    return now[pool]!.map((e) => ({ ...e, size: 1, format: 2 }));
  },
  close: async () => undefined,
});

const res = (kind: TrackedResource["kind"], id: string): TrackedResource => ({ kind, id, name: `dcnv-x-dcn0-${kind}`, site: "dcn0" });

describe("rbd images named after the run's resources", () => {
  test("each pool's naming: Glance's <id>, Cinder's volume-<id> and snapshot-<id>, cinder-backup's volume-<id>.backup.<id>", () => {
    expect(idsInRbdName("images", { image: IMG })).toEqual([IMG]);
    expect(idsInRbdName("images", { image: IMG, snapshot: "snap" })).toEqual([]);
    expect(idsInRbdName("volumes", { image: `volume-${VOL}` })).toEqual([VOL]);
    expect(idsInRbdName("volumes", { image: `volume-${VOL}.deleted` })).toEqual([VOL]);
    expect(idsInRbdName("volumes", { image: `volume-${VOL}`, snapshot: `snapshot-${SNAP}` })).toEqual([SNAP]);
    expect(idsInRbdName("backups", { image: `volume-${VOL}.backup.${BAK}` })).toEqual([VOL, BAK]);
    expect(idsInRbdName("backups", { image: `volume-${VOL}.backup.base` })).toEqual([VOL]);
    expect(idsInRbdName("backups", { image: `volume-${VOL}.backup.base`, snapshot: `backup.${BAK}.snap.1700000000.1` })).toEqual([BAK]);
    expect(idsInRbdName("volumes", { image: IMG })).toEqual([]);
  });

  test("only what is named after a given resource is a leftover, with the likely cause", () => {
    const found = matchRbdLeftovers(
      { name: "dcn0", cluster: "dcn0" },
      [
        { role: "images", pool: "images", entries: [{ image: IMG }, { image: IMG, snapshot: "snap" }, { image: SNAP }] },
        { role: "volumes", pool: "volumes", entries: [{ image: `volume-${VOL}` }] },
      ],
      new Map([[IMG, res("image", IMG)]]),
    );
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ site: "dcn0", pool: "images", image: IMG, resource: { kind: "image", id: IMG } });
    expect(found[0]!.cause).toMatch(/^Glance forgot it: an interrupted copy-image or upload/);
    expect(found[0]!.cause).toContain(`'rbd --cluster dcn0 snap unprotect images/${IMG}@<snap>'`);
  });
});

describe("the look after the sweep", () => {
  const cfg = configSchema.parse({ ...validConfig(), timeouts: { pollInterval: 0.01, pollIntervalMax: 0.01 } });
  const wait = { timeoutS: 0.2, intervalS: 0.01 };
  beforeEach(() => {
    pools.calls = 0;
  });

  test("waits while Cinder still deletes a volume's rbd image and reports only the images pool's orphan", async () => {
    const orphan = { images: [{ image: IMG }], volumes: [{ image: `volume-${VOL}` }] };
    const settled = { images: [{ image: IMG }], volumes: [] };
    pools.lists = [orphan, orphan, orphan, settled, settled, settled];
    const scan = await scanRbdLeftovers(cfg, [res("image", IMG), res("volume", VOL)], { wait, probeOf });
    expect(scan.found.map((f) => `${f.pool}/${f.image}`)).toEqual([`images/${IMG}`]);
    expect(scan.notChecked).toEqual([]);
  });

  test("an images-pool orphan alone is reported at once, without waiting", async () => {
    pools.lists = [{ images: [{ image: IMG }], volumes: [], backups: [] }];
    const scan = await scanRbdLeftovers(cfg, [res("image", IMG)], { wait, probeOf });
    expect(scan.found).toHaveLength(1);
    expect(pools.calls).toBe(9);
  });

  test("a volume's rbd image still there when the wait runs out is reported, and the wait ends", async () => {
    pools.lists = [{ images: [], volumes: [{ image: `volume-${VOL}` }], backups: [] }];
    const log: string[] = [];
    const started = Date.now();
    const scan = await scanRbdLeftovers(cfg, [res("volume", VOL)], { wait, log: (l) => log.push(l), probeOf });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(scan.found.map((f) => f.image)).toEqual([`volume-${VOL}`]);
    expect(log.join("\n")).toMatch(
      /timed out after .* waiting for none left in the volumes and backups pools; last state: dcn0:volumes\/volume-/,
    );
  });

  test("a site with transport none is not asked, and is listed as not looked at for want of Ceph access", async () => {
    const none = configSchema.parse({
      ...validConfig(),
      central: { ...validConfig().central, ceph: { cluster: "central", transport: { kind: "none", reason: "external Ceph" } } },
    });
    pools.lists = [{ images: [], volumes: [], backups: [] }];
    const scan = await scanRbdLeftovers(none, [res("image", IMG)], { probeOf });
    expect(scan.notChecked).toEqual([{ site: "central", reason: "no Ceph access (ceph.transport.kind none: external Ceph)" }]);
    expect(scan.notChecked.map(formatRbdNotChecked)).toEqual([
      "central: not looked at: no Ceph access (ceph.transport.kind none: external Ceph)",
    ]);
    expect(pools.calls).toBe(6);
  });

  test("each site's own pools are listed: its images pool by its name, no backups pool where it has none", async () => {
    const base = validConfig();
    const dcn0 = { ...base.edges[0]!, ceph: { ...base.edges[0]!.ceph, pools: { images: "glance-images", backups: false } } };
    const own = configSchema.parse({ ...base, edges: [dcn0, base.edges[1]], timeouts: cfg.timeouts });
    pools.lists = [{ "glance-images": [{ image: IMG }], volumes: [] }];
    const scan = await scanRbdLeftovers(own, [res("image", IMG)], { wait, probeOf });
    expect(scan.found.map((f) => `${f.site}:${f.pool}/${f.image}`)).toEqual([`dcn0:glance-images/${IMG}`]);
    expect(scan.notChecked).toEqual([]);
    expect(pools.calls).toBe(8);
  });

  test("nothing deleted: no probe is asked", async () => {
    expect(await scanRbdLeftovers(cfg, [], { probeOf })).toEqual({ found: [], notChecked: [] });
    expect(pools.calls).toBe(0);
  });
});
