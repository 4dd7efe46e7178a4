import { describe, expect, test } from "vitest";
import { configSchema, DISTRIBUTIONS } from "../config/schema.ts";
import { configFromDiscovery, type DiscoveredSite, type Discovery, toFill } from "./discover.ts";

const FSID = { central: "0f9ee397-8b6d-483e-8d10-9bbfe358836c", dcn0: "5d1c3a2e-0c3b-4d52-9a77-2f6b1c0e4a10" };

const site = (name: string, extra: Partial<DiscoveredSite> = {}): DiscoveredSite => ({
  name,
  store: name,
  default: false,
  volumeServices: [{ host: `hostgroup@${name}`, up: true }],
  backends: [{ pool: `hostgroup@${name}#${name}`, cluster: name, fsid: FSID[name as keyof typeof FSID] }],
  storeFsid: FSID[name as keyof typeof FSID],
  ...extra,
});

const discovery = (sites: DiscoveredSite[]): Discovery => ({ sites, orphanAzs: [], findings: [], smallestFlavor: "m1.small" });
const D = discovery([site("central", { default: true }), site("dcn0")]);
const CLOUD = { cloud: "overcloud" };

/** The config with every FILL-IN value replaced as an operator would. */
const filled = (config: unknown) =>
  JSON.parse(JSON.stringify(config), (_, v: unknown) =>
    typeof v === "string" && v.startsWith("FILL-IN: ") ? "hci-0.example" : v,
  ) as unknown;

const issues = (config: unknown) => {
  const r = configSchema.safeParse(config);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};

describe("configFromDiscovery", () => {
  test("without a distribution: transports { kind: local } to set, the fsids pinned, no distribution key", () => {
    const cfg = configFromDiscovery(D, CLOUD) as { central: { ceph: unknown }; distribution?: unknown };
    expect(cfg.distribution).toBeUndefined();
    expect(cfg.central.ceph).toEqual({ cluster: "central", transport: { kind: "local" }, fsid: FSID.central });
    expect(toFill(cfg)).toEqual([]);
  });

  test("osp17: cephadm as tripleo-admin at each site, only the hosts to fill in", () => {
    const cfg = configFromDiscovery(D, CLOUD, "osp17") as { distribution: string; edges: { ceph: unknown }[] };
    expect(cfg.distribution).toBe("osp17");
    expect(cfg.edges[0]!.ceph).toEqual({
      cluster: "dcn0",
      transport: { kind: "cephadm", host: "FILL-IN: an HCI or controller host of dcn0", user: "tripleo-admin" },
      fsid: FSID.dcn0,
    });
    expect(toFill(cfg)).toEqual([
      { path: "central.ceph.transport.host", what: "an HCI or controller host of central" },
      { path: "edges[0].ceph.transport.host", what: "an HCI or controller host of dcn0" },
    ]);
  });

  test("rhoso18: cephadm as cloud-admin on an EDPM node", () => {
    const cfg = configFromDiscovery(D, CLOUD, "rhoso18") as { central: { ceph: { transport: unknown } } };
    expect(cfg.central.ceph.transport).toEqual({ kind: "cephadm", host: "FILL-IN: an EDPM (HCI) node of central", user: "cloud-admin" });
  });

  test("kolla: local, as cinder, with kolla's conf and keyring of the site's cluster; nothing to fill in", () => {
    const cfg = configFromDiscovery(D, CLOUD, "kolla") as { edges: { ceph: unknown }[] };
    expect(cfg.edges[0]!.ceph).toEqual({
      cluster: "dcn0",
      transport: { kind: "local" },
      user: "cinder",
      conf: "/etc/kolla/config/cinder/dcn0.conf",
      keyring: "/etc/kolla/config/cinder/cinder-volume/dcn0.client.cinder.keyring",
      fsid: FSID.dcn0,
    });
    expect(toFill(cfg)).toEqual([]);
  });

  test("an fsid discovery could not read is left to fill in where cephadm needs it", () => {
    const blind = discovery([site("central", { default: true, storeFsid: undefined, backends: [] })]);
    expect(toFill(configFromDiscovery(blind, CLOUD, "osp17"))).toEqual([
      { path: "central.ceph.transport.host", what: "an HCI or controller host of central" },
      { path: "central.ceph.fsid", what: "`ceph fsid` of central's cluster" },
    ]);
    expect(configFromDiscovery(blind, CLOUD, "kolla")).not.toHaveProperty("central.ceph.fsid");
  });

  test.each(DISTRIBUTIONS)(
    "%s: refused until the hosts are filled in, naming them; then it parses with the distribution's defaults",
    (d) => {
      const cfg = configFromDiscovery(D, CLOUD, d);
      expect(issues(cfg)).toEqual(toFill(cfg).map((f) => `${f.path.replace(/\[(\d+)\]/g, ".$1")}: a host name or address`));
      expect(issues(filled(cfg))).toEqual([]);
      const parsed = configSchema.parse(filled(cfg));
      expect(parsed.distribution).toBe(d);
      expect(parsed.conformance.backupsSite).toBe("central");
      expect(parsed.conformance.cephUsers?.map((u) => u.user)).toEqual(
        d === "kolla" ? ["client.glance", "client.cinder", "client.cinder-backup"] : ["client.openstack"],
      );
    },
  );
});
