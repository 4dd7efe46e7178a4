import { describe, expect, test } from "vitest";
import { backupsTarget, sitePools } from "./pools.ts";
import { configSchema, GUIDE_CEPH_USERS, OPENSTACK_CEPH_USERS } from "./schema.ts";
import { testSite, validConfig } from "./testing.ts";

const parse = (o: Record<string, unknown>) => configSchema.parse({ ...validConfig(), ...o });

describe("distribution: defaults only, any field given wins", () => {
  test("osp17 and rhoso18: one client.openstack with every pool, backups included; kolla and none: the guide's three users", () => {
    for (const d of ["osp17", "rhoso18"]) expect(parse({ distribution: d }).conformance.cephUsers).toEqual(OPENSTACK_CEPH_USERS);
    expect(OPENSTACK_CEPH_USERS[0]!.needs.map((n) => `${n.pool} ${n.access}`)).toEqual([
      "images rwx",
      "volumes rwx",
      "vms rwx",
      "backups rwx",
    ]);
    expect(parse({ distribution: "kolla" }).conformance.cephUsers).toEqual(GUIDE_CEPH_USERS);
    expect(parse({}).conformance.cephUsers).toEqual(GUIDE_CEPH_USERS);
    const own = [{ user: "client.dcn", needs: [{ pool: "images", access: "rwx" }] }];
    expect(parse({ distribution: "osp17", conformance: { cephUsers: own } }).conformance.cephUsers).toEqual(own);
  });

  test("every backup lands at central and the edges have no backups pool, unless the config says otherwise", () => {
    for (const d of ["osp17", "rhoso18", "kolla"]) {
      const cfg = parse({ distribution: d });
      expect(cfg.conformance.backupsSite, d).toBe("central");
      expect(
        cfg.edges.map((e) => sitePools(cfg, e).backups),
        d,
      ).toEqual([undefined, undefined]);
      expect(sitePools(cfg, cfg.central).backups, d).toBe("backups");
    }
    const cfg = parse({
      distribution: "osp17",
      edges: [
        testSite("dcn0", { ceph: { cluster: "dcn0", transport: { kind: "local" }, pools: { backups: "dcn0-backups" } } }),
        testSite("dcn1"),
      ],
      conformance: { backupsSite: "dcn0" },
    });
    expect(cfg.conformance.backupsSite).toBe("dcn0");
    expect(cfg.edges.map((e) => sitePools(cfg, e).backups)).toEqual(["dcn0-backups", undefined]);
    expect(parse({}).conformance.backupsSite).toBeUndefined();
    expect(parse({}).edges.map((e) => e.ceph.pools)).toEqual([undefined, undefined]);
  });

  test("conformance.backupSites names sites of the config", () => {
    expect(() => parse({ conformance: { backupSites: ["dcn7"] } })).toThrow(/no site 'dcn7' in the config/);
  });

  test("a backups site left without a pool by the defaults is refused, naming the default", () => {
    const edge = configSchema.safeParse({ ...validConfig(), distribution: "osp17", conformance: { backupsSite: "dcn1" } });
    expect(edge.error?.issues).toEqual([
      expect.objectContaining({
        path: ["conformance", "backupsSite"],
        message: expect.stringMatching(
          /^site 'dcn1' has no backups pool \(its ceph\.pools\.backups is false, an edge's default under distribution osp17\)/,
        ),
      }),
    ]);
    const central = configSchema.safeParse({
      ...validConfig(),
      distribution: "kolla",
      central: testSite("central", { ceph: { cluster: "central", transport: { kind: "local" }, pools: { backups: false } } }),
    });
    expect(central.error?.issues[0]?.message).toMatch(
      /under distribution kolla backups land at central unless conformance\.backupsSite names another site \(false: none\)$/,
    );
    expect(configSchema.safeParse({ ...validConfig(), distribution: "debian" }).success).toBe(false);
  });
});

describe("conformance.backupsSite: false, a cloud that takes no backups", () => {
  test("is accepted under a distribution, and the target is none, with the reason the backup tests give", () => {
    const cfg = parse({ distribution: "osp17", conformance: { backupsSite: false } });
    expect(cfg.conformance.backupsSite).toBe(false);
    expect(backupsTarget(cfg, cfg.edges[0]!)).toEqual({
      kind: "none",
      reason: "the cloud takes no backups (conformance.backupsSite: false)",
    });
  });

  test("the target is the named site's pool, else the site's own, with or without a pool", () => {
    const central = parse({ distribution: "osp17" });
    expect(backupsTarget(central, central.edges[0]!)).toMatchObject({
      kind: "pool",
      site: { name: "central" },
      pool: "backups",
      source: "conformance.backupsSite",
    });
    const own = parse({
      edges: [testSite("dcn0", { ceph: { cluster: "dcn0", transport: { kind: "local" }, pools: { backups: false } } })],
    });
    expect(backupsTarget(own, own.edges[0]!)).toMatchObject({ kind: "pool", site: { name: "dcn0" }, source: "dcn0's own" });
    expect(backupsTarget(own, own.edges[0]!)).not.toHaveProperty("pool", expect.anything());
  });
});
