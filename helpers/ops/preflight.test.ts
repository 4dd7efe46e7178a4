import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { computeQuotaDetailSchema, flavorSchema } from "../clients/compute.ts";
import { versionsSchema } from "../clients/microversion.ts";
import { quotaSetUsageSchema } from "../clients/volume.ts";
import { type Config, configSchema } from "../config/schema.ts";
import { testSite, validConfig } from "../config/testing.ts";
import { PACKAGE_ROOT } from "../core/package-root.ts";
import { catalog } from "../harness/catalog.ts";
import { SUITE_GROUPS } from "../harness/model.ts";
import { filteringRefusal, filteringRefusedTask } from "../images/glance-filtering.ts";
import {
  adminNeeds,
  atOnce,
  judgeAdmin,
  judgeCinderQuota,
  judgeComputeQuota,
  judgeNetwork,
  judgeWebDownload,
  siteNeeds,
} from "./preflight.ts";

const fixture = (name: string) => JSON.parse(readFileSync(join(PACKAGE_ROOT, "fixtures/openstack/quotas", `${name}.json`), "utf8"));
const cinderRecorded = () => quotaSetUsageSchema.parse(fixture("cinder-quota-usage"));
const novaRecorded = () => computeQuotaDetailSchema.parse(fixture("nova-quota-detail"));
const flavor = flavorSchema.parse(fixture("nova-flavors").flavors.find((f: { name: string }) => f.name === "dcnv.tiny"));

/** The recorded response with some limits (and usage) changed, as `openstack quota set` would. */
function withLimits<T extends { quota_set: Record<string, unknown> }>(
  r: T,
  limits: Record<string, number>,
  inUse: Record<string, number> = {},
): T {
  const set = structuredClone(r.quota_set) as Record<string, { limit: number; in_use: number; reserved?: number }>;
  for (const [k, v] of Object.entries(limits)) set[k] = { ...set[k]!, limit: v };
  for (const [k, v] of Object.entries(inUse)) set[k] = { ...set[k]!, in_use: v };
  return { ...r, quota_set: set };
}
const CINDER_DEFAULTS = { volumes: 10, snapshots: 10, gigabytes: 1000, backups: 10 };
const NOVA_DEFAULTS = { instances: 10, cores: 20, ram: 51200 };

/** A cloud with n edges dcn0..dcn<n-1>, each with its own volume type named after it (as the lab does). */
function cloud(n: number, extra: Record<string, unknown> = {}): Config {
  const base = validConfig();
  return configSchema.parse({
    ...base,
    central: { ...base.central, volumeType: "central" },
    edges: Array.from({ length: n }, (_, i) => testSite(`dcn${i}`, { volumeType: `dcn${i}` })),
    ...extra,
  });
}
const allSitesOf = (cfg: Config) => [cfg.central.name, ...cfg.edges.map((e) => e.name)];
const procedure = (cfg: Config) => ({ sites: allSitesOf(cfg), suites: ["procedure" as const], tier: "standard" as const });

describe("what the selected tests hold at once", () => {
  test("the procedure at an edge: two volumes, two Cinder snapshots (step 6's and Nova's for step 7), one server", () => {
    const cfg = cloud(1, { volume: { sizeGiB: 3 } });
    const [central, dcn0] = siteNeeds(cfg, procedure(cfg));
    expect(central).toMatchObject({ site: "central", volumes: 0, snapshots: 0, instances: 0, gigabytes: 0 });
    expect(dcn0).toMatchObject({ site: "dcn0", volumeType: "dcn0", volumes: 2, snapshots: 2, backups: 0, instances: 1, gigabytes: 12 });
    expect(dcn0!.tests).toEqual(["dcn-4-boot-from-volume", "dcn-6-cinder-snapshot", "dcn-7-back-to-central"]);
  });

  test("every suite at an edge adds rule-5's volume and conf-14's two volumes and backup", () => {
    const cfg = cloud(1);
    const [central, dcn0] = siteNeeds(cfg, { sites: allSitesOf(cfg), suites: [...SUITE_GROUPS], tier: "standard" });
    expect(dcn0).toMatchObject({ volumes: 5, snapshots: 2, backups: 1, instances: 1, gigabytes: 7 });
    expect(central).toMatchObject({ volumes: 1, tests: ["conf-11-cinder-az-fallback"] });
  });

  test("an edge without a backups pool needs nothing for conf-14, which does not apply there", () => {
    const base = cloud(1);
    const cfg = configSchema.parse({
      ...base,
      edges: [{ ...base.edges[0], ceph: { ...base.edges[0]!.ceph, pools: { backups: false } } }],
    });
    const [, dcn0] = siteNeeds(cfg, { sites: allSitesOf(cfg), suites: [...SUITE_GROUPS], tier: "standard" });
    expect(dcn0).toMatchObject({ volumes: 3, backups: 0 });
    expect(dcn0!.tests).not.toContain("conf-14-cinder-backup");
  });

  test("a read-only run needs nothing", () => {
    const cfg = cloud(2);
    for (const n of siteNeeds(cfg, { sites: allSitesOf(cfg), suites: [...SUITE_GROUPS], tier: "read-only" }))
      expect(n).toMatchObject({ volumes: 0, snapshots: 0, backups: 0, instances: 0, tests: [] });
  });
});

describe("Cinder quotas (recorded usage)", () => {
  test("the lab's unlimited quotas meet any run", () => {
    const cfg = cloud(8);
    const checks = judgeCinderQuota(cinderRecorded(), siteNeeds(cfg, procedure(cfg)), { project: "admin" });
    expect(checks.length).toBeGreaterThan(0);
    expect(checks.every((c) => c.ok && /unlimited/.test(c.detail))).toBe(true);
  });

  test("stock defaults take five edges' procedure; the sixth stops the run naming volumes, the sites, need and free, and the fix", () => {
    const stock = withLimits(cinderRecorded(), CINDER_DEFAULTS);
    const five = cloud(5);
    expect(judgeCinderQuota(stock, siteNeeds(five, procedure(five)), { project: "admin" }).every((c) => c.ok)).toBe(true);
    const six = cloud(6);
    const failed = judgeCinderQuota(stock, siteNeeds(six, procedure(six)), { project: "admin" }).filter((c) => !c.ok);
    expect(failed.map((c) => c.name)).toEqual(["quota Cinder volumes", "quota Cinder snapshots"]);
    expect(failed[0]!.detail).toBe("need 12 (dcn0: 2, dcn1: 2, dcn2: 2, dcn3: 2, dcn4: 2, dcn5: 2), free 10 of 10 (0 in use, 0 reserved)");
    expect(failed[0]!.hint).toContain("openstack quota set --volumes 12 admin");
  });

  test("with every suite, stock defaults take one edge: the second needs 11 volumes (1 at central, 5 an edge)", () => {
    const stock = withLimits(cinderRecorded(), CINDER_DEFAULTS);
    const every = (cfg: Config) => siteNeeds(cfg, { sites: allSitesOf(cfg), suites: [...SUITE_GROUPS], tier: "standard" });
    expect(judgeCinderQuota(stock, every(cloud(1)), { project: "admin" }).every((c) => c.ok)).toBe(true);
    const failed = judgeCinderQuota(stock, every(cloud(2)), { project: "admin" }).filter((c) => !c.ok);
    expect(failed.map((c) => c.detail)).toEqual(["need 11 (central: 1, dcn0: 5, dcn1: 5), free 10 of 10 (0 in use, 0 reserved)"]);
  });

  test("with --max-parallel 2, two edges' every suite fits stock defaults: the two largest sites at once, 10 volumes", () => {
    const stock = withLimits(cinderRecorded(), CINDER_DEFAULTS);
    const cfg = cloud(2);
    const needs = siteNeeds(cfg, { sites: allSitesOf(cfg), suites: [...SUITE_GROUPS], tier: "standard" });
    const two = judgeCinderQuota(stock, atOnce(needs, 2), { project: "admin" });
    expect(two.every((c) => c.ok)).toBe(true);
    expect(two.find((c) => c.name === "quota Cinder volumes")!.detail).toBe(
      "need 10 (dcn0: 5, dcn1: 5), free 10 of 10 (0 in use, 0 reserved)",
    );
    expect(atOnce(needs, 4)).toBe(needs);
  });

  test("what is in use and reserved counts against the limit", () => {
    const r = withLimits(cinderRecorded(), { volumes: 10 }, { volumes: 9 });
    (r.quota_set.volumes as { reserved: number }).reserved = 0;
    const cfg = cloud(1);
    const [c] = judgeCinderQuota(r, siteNeeds(cfg, procedure(cfg)), { project: "p" }).filter((x) => !x.ok);
    expect(c).toMatchObject({ name: "quota Cinder volumes", detail: "need 2 (dcn0: 2), free 1 of 10 (9 in use, 0 reserved)" });
    expect(c!.hint).toContain("--volumes 11 p");
  });

  test("a per-type quota set to 0 for dcn0 names volumes_dcn0, the site, and quota set --volume-type", () => {
    const r = withLimits(cinderRecorded(), { volumes_dcn0: 0 });
    const cfg = cloud(2);
    const failed = judgeCinderQuota(r, siteNeeds(cfg, procedure(cfg)), { project: "admin", region: "RegionOne" }).filter((c) => !c.ok);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      name: "quota Cinder volumes_dcn0 (region RegionOne)",
      detail: "need 2 (dcn0: 2), free 0 of 0 (0 in use, 0 reserved)",
    });
    expect(failed[0]!.hint).toContain("openstack quota set --volume-type dcn0 --volumes 2 admin");
  });

  test("backups and gigabytes count conf-14 and the volume size", () => {
    const r = withLimits(cinderRecorded(), { backups: 1, gigabytes: 20 });
    const cfg = cloud(2, { volume: { sizeGiB: 2 } });
    const failed = judgeCinderQuota(r, siteNeeds(cfg, { sites: allSitesOf(cfg), suites: ["conformance"], tier: "standard" }), {
      project: "admin",
    }).filter((c) => !c.ok);
    expect(failed.map((c) => [c.name, c.detail])).toEqual([
      ["quota Cinder backups", "need 2 (dcn0: 1, dcn1: 1), free 1 of 1 (0 in use, 0 reserved)"],
    ]);
  });
});

describe("Nova quotas (recorded usage)", () => {
  test("instances, cores and ram from the flavor: stock cores (20) stop a 2-vCPU flavor at eleven edges, instances (10) first", () => {
    const stock = withLimits(novaRecorded(), NOVA_DEFAULTS);
    const big = { ...flavor, vcpus: 2 };
    const ten = cloud(10);
    expect(judgeComputeQuota(stock, siteNeeds(ten, procedure(ten)), big, { project: "admin" }).every((c) => c.ok)).toBe(true);
    const eleven = cloud(11);
    const failed = judgeComputeQuota(stock, siteNeeds(eleven, procedure(eleven)), big, { project: "admin" }).filter((c) => !c.ok);
    expect(failed.map((c) => c.name)).toEqual(["quota Nova instances", "quota Nova cores"]);
    expect(failed[1]!.detail).toMatch(/^need 22 \(dcn0: 2 \(flavor dcnv\.tiny: 2 vCPU\), .*\), free 20 of 20/);
    expect(failed[1]!.hint).toContain("openstack quota set --cores 22 admin");
  });

  test("a site's own flavor counts for that site's servers: cores and ram add up per site", () => {
    const stock = withLimits(novaRecorded(), NOVA_DEFAULTS);
    const ten = cloud(10);
    const big = { ...flavor, name: "m1.large", vcpus: 4, ram: 8192 };
    const flavorOf = (site: string) => (site === "dcn9" ? big : flavor);
    const failed = judgeComputeQuota(stock, siteNeeds(ten, procedure(ten)), flavorOf, { project: "admin" }).filter((c) => !c.ok);
    // nine sites of dcnv.tiny (1 vCPU, 256 MiB) and dcn9 of m1.large (4 vCPU, 8 GiB): 13 cores fit 20, 10496 MiB fit 51200.
    expect(failed).toEqual([]);
    const many = judgeComputeQuota(stock, siteNeeds(ten, procedure(ten)), () => big, { project: "admin" }).filter((c) => !c.ok);
    expect(many.map((c) => c.name)).toEqual(["quota Nova cores", "quota Nova ram"]);
    expect(many[0]!.detail).toMatch(/^need 40 \(dcn0: 4 \(flavor m1\.large: 4 vCPU\)/);
  });

  test("the lab's recorded quotas are unlimited", () => {
    const cfg = cloud(2);
    const checks = judgeComputeQuota(novaRecorded(), siteNeeds(cfg, procedure(cfg)), flavor, { project: "admin" });
    expect(checks.map((c) => c.name)).toEqual(["quota Nova instances", "quota Nova cores", "quota Nova ram"]);
    expect(checks.every((c) => c.ok)).toBe(true);
  });
});

describe("network, microversion and admin role", () => {
  const max = versionsSchema.parse(fixture("nova-versions")).versions.find((v) => v.id === "v2.1")!.version!;

  test("networks none needs compute 2.37: the lab's Nova goes to 2.93, an older one fails naming the field", () => {
    expect(judgeNetwork("none", max).ok).toBe(true);
    const old = judgeNetwork("none", "2.36");
    expect(old).toMatchObject({ ok: false, detail: "none needs compute microversion >= 2.37; this Nova goes up to 2.36" });
    expect(old.hint).toContain("set network in the config");
  });

  test("a network id must be found", () => {
    expect(judgeNetwork("4b2f", "2.60", { name: "edge-net" })).toMatchObject({ ok: true, detail: "network 4b2f (edge-net) found" });
    expect(judgeNetwork("4b2f", "2.60", new Error("neutron GET /v2.0/networks/4b2f -> 404"))).toMatchObject({ ok: false });
  });

  test("without admin, a warning names the selected tests that need it and why", () => {
    const cfg = cloud(1);
    const c = judgeAdmin(["member", "reader"], cfg, procedure(cfg));
    expect(c).toMatchObject({ ok: true, warn: true });
    expect(c.hint).toContain("dcn-3-copy-to-edge, dcn-7-back-to-central (copy-image is admin-only)");
    expect(c.hint).toContain("dcn-5-rbd-parent (image locations are shown to admins only)");
    expect(c.hint).not.toContain("ms-");
    expect(judgeAdmin(["member"], cfg, { ...procedure(cfg), suites: ["rules"] }).hint).toBe("none of the selected tests needs it");
    expect(judgeAdmin(["admin"], cfg, procedure(cfg))).toMatchObject({ ok: true, warn: false });
  });

  test("the admin needs are the declarations' admin, each reason once with its tests in catalog order", () => {
    const needs = adminNeeds(catalog());
    expect(needs.map((n) => n.why)).toEqual([...new Set(needs.map((n) => n.why))]);
    expect(needs.flatMap((n) => n.tests).sort()).toEqual(
      catalog()
        .filter((e) => e.admin)
        .map((e) => e.id)
        .sort(),
    );
    expect(needs[0]).toEqual({
      why: "copy-image is admin-only",
      tests: ["dcn-3-copy-to-edge", "dcn-7-back-to-central", "ms-11-copy-all-stores", "ms-12-copy-named-stores"],
    });
  });
});

describe("web-download against stock Glance filtering", () => {
  const w = (o: Record<string, unknown>) => configSchema.parse({ ...validConfig(), webDownload: o }).webDownload;

  test("the default server (loopback, random port) is warned about by allowed_ports and allowed_hosts, with the fixes", () => {
    const c = judgeWebDownload(w({}));
    expect(c).toMatchObject({ ok: true, warn: true });
    expect(c.detail).toContain(
      "http://127.0.0.1:<random port> (webDownload.bind/port): port random is not in stock Glance's [import_filtering_opts] allowed_ports = [80, 443]",
    );
    expect(c.detail).toContain("host 127.0.0.1 is loopback");
    expect(c.hint).toContain("webDownload.port: 80 (or 443)");
    expect(c.hint).toContain("webDownload.advertiseUrl");
    expect(c.hint).toContain("webDownload.uri");
  });

  test("port 80 on a routable address passes; a private address is not refused by this Glance", () => {
    expect(judgeWebDownload(w({ bind: "10.0.0.5", port: 80 }))).toMatchObject({ ok: true, warn: false });
    expect(judgeWebDownload(w({ uri: "https://images.example.org/cirros.raw" }))).toMatchObject({ ok: true, warn: false });
  });

  test("an advertised URL on another port, a link-local or IPv4-mapped loopback host are warned about", () => {
    expect(judgeWebDownload(w({ advertiseUrl: "http://runner.example:8080", port: 8080 })).detail).toContain(
      "http://runner.example:8080 (webDownload.advertiseUrl): port 8080 is not allowed (allowed_ports [80, 443], disallowed_ports [])",
    );
    expect(judgeWebDownload(w({ uri: "http://169.254.169.254/x" })).detail).toContain("host 169.254.169.254 is link-local");
    expect(judgeWebDownload(w({ advertiseUrl: "http://[::ffff:127.0.0.1]:80", port: 80 })).detail).toContain("is loopback");
  });

  test("the loopback warning names the Glance builds that refuse it, not stock validate_import_uri; a URL without a port passes allowed_ports", () => {
    const c = judgeWebDownload(w({ uri: "http://127.0.0.1/x.raw" }));
    expect(c.detail).toContain("only a Glance on this machine reaches it");
    expect(c.detail).toContain("2026 SSRF fixes (resolve_pinned_address");
    expect(c.detail).not.toContain("allowed_ports");
    expect(judgeWebDownload(w({ uri: "http://images.example.org/x.raw" }))).toMatchObject({ warn: false });
    expect(judgeWebDownload(w({ bind: "0.0.0.0", port: 80 })).detail).toContain("0.0.0.0 names no host Glance can fetch from");
  });

  test("Glance's 400 'does not pass filtering' becomes a failure naming the Glance settings and the harness's fix", () => {
    const m = filteringRefusal(
      "http://127.0.0.1:41234/abc/x.raw",
      "glance POST /v2/images/{id}/import -> 400: URI for web-download does not pass filtering: http://127.0.0.1:41234/abc/x.raw",
    );
    expect(m).toContain("[import_filtering_opts]");
    expect(m).toContain("allowed_ports");
    expect(m).toContain("disallowed_hosts");
    expect(m).toContain("glance-api.conf");
    expect(m).toContain("webDownload.port: 80|443");
    expect(m).toContain("URI for web-download does not pass filtering");
  });

  test("a task that failed on filtering (download or redirect) names the settings; another failure is left alone", () => {
    const m = filteringRefusedTask({ id: "t1", message: "URI does not pass filtering: http://127.0.0.1:41234/abc/x.raw" });
    expect(m).toMatch(
      /^Glance refuses to fetch http:\/\/127\.0\.0\.1:41234\/abc\/x\.raw: it does not pass glance-api\.conf's \[import_filtering_opts\]/,
    );
    expect(m).toContain("task t1: URI does not pass filtering");
    expect(filteringRefusedTask({ id: "t2", message: "Redirect to disallowed URL: http://10.0.0.1:8080/x" })).toContain("allowed_ports");
    expect(
      filteringRefusedTask({ id: "t3", message: "Task t3 failed because downloaded data size 1 is different from expected 2" }),
    ).toBeUndefined();
    expect(filteringRefusedTask(undefined)).toBeUndefined();
  });
});
