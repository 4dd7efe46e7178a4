import { join } from "node:path";
import { backupsTarget } from "../config/pools.ts";
import type { ImportMethod } from "../clients/image.ts";
import type { Config } from "../config/schema.ts";
import { PACKAGE_ROOT } from "../core/package-root.ts";
import { type SiteRole, type SuiteGroup, TIERS, type Tier } from "./model.ts";

export interface CatalogEntry {
  id: string;
  group: SuiteGroup;
  /** The sites it runs at: central, each edge, or every site. */
  where: "central" | "edge" | "every";
  tier: Tier;
  /** What the test creates in the cloud (all of it named with the run id, and deleted at the end). */
  creates: string[];
  /** What it creates besides, only when the run's tier allows writes (standard or above). */
  createsWhenWritable?: string[];
  /** What it hands to later tests of its suite (an image, a volume...), by name. */
  provides?: string[];
  /** What it builds on, by name: it is skipped when the test that provides it does not run or did not produce it. */
  needs?: string[];
  /** The import methods it asks Glance for, besides copy-image: conf-7 asks for them, and where Glance does not enable one the test is not verified. */
  imports?: ImportMethod[];
}

/** Every test dcn-verify runs: the suites take their tier from here, and `dcn-verify plan` prints it. */
export const CATALOG: readonly CatalogEntry[] = [
  { id: "dcn-1-stores", group: "procedure", where: "central", tier: "read-only", creates: [] },
  { id: "dcn-2-raw-import", group: "procedure", where: "central", tier: "standard", creates: ["image (raw, central store)"] },
  {
    id: "dcn-3-copy-to-edge",
    group: "procedure",
    where: "edge",
    tier: "standard",
    creates: ["image (raw, central store, copied to the edge store)"],
    provides: ["edge-image"],
  },
  // Only at a site that names its own Glance API (glance.endpoint): see notApplicable.
  {
    id: "dcn-3b-edge-glance",
    group: "procedure",
    where: "edge",
    tier: "read-only",
    creates: [],
    createsWhenWritable: ["image (1 MiB raw) uploaded through the site's own Glance API, naming no store"],
    needs: ["edge-image"],
  },
  {
    id: "dcn-4-boot-from-volume",
    group: "procedure",
    where: "edge",
    tier: "standard",
    creates: ["volume from the image in the edge AZ", "server booted from it in the edge AZ"],
    needs: ["edge-image"],
    provides: ["root-volume", "server"],
  },
  { id: "dcn-5-rbd-parent", group: "procedure", where: "edge", tier: "read-only", creates: [], needs: ["root-volume", "edge-image"] },
  {
    id: "dcn-6-cinder-snapshot",
    group: "procedure",
    where: "edge",
    tier: "standard",
    creates: ["Cinder snapshot (force) of the server's root volume (at the disruptive tier the server is stopped, then started)"],
    needs: ["server", "root-volume", "edge-image"],
    provides: ["root-snapshot"],
  },
  {
    id: "dcn-7-back-to-central",
    group: "procedure",
    where: "edge",
    tier: "standard",
    creates: [
      "server image (and Nova's Cinder snapshot for it)",
      "volume from step 6's snapshot",
      "image uploaded from that volume (edge store, copied to central)",
    ],
    needs: ["edge-image", "root-snapshot", "server"],
  },
  {
    id: "ms-1-web-download-stores",
    group: "multistore",
    where: "central",
    tier: "standard",
    creates: ["image by web-download (central and the first edge store)"],
    imports: ["web-download"],
    provides: ["ms-several"],
  },
  {
    id: "ms-2-web-download-all-stores",
    group: "multistore",
    where: "central",
    tier: "standard",
    creates: ["image by web-download (all stores)"],
    imports: ["web-download"],
    provides: ["ms-all"],
  },
  {
    id: "ms-3-web-download-one-store",
    group: "multistore",
    where: "central",
    tier: "standard",
    creates: ["image by web-download (the last edge store)"],
    imports: ["web-download"],
  },
  {
    id: "ms-4-web-download-default-store",
    group: "multistore",
    where: "central",
    tier: "standard",
    creates: ["image by web-download (default store)"],
    imports: ["web-download"],
    provides: ["ms-central"],
  },
  {
    id: "ms-5-allow-failure",
    group: "multistore",
    where: "central",
    tier: "standard",
    creates: ["image by web-download (all stores, allow failure)"],
    imports: ["web-download"],
  },
  {
    id: "ms-6-qcow2-conversion",
    group: "multistore",
    where: "central",
    tier: "standard",
    creates: ["qcow2 image by web-download (central and the first edge store)"],
    imports: ["web-download"],
  },
  {
    id: "ms-7-glance-direct-stores",
    group: "multistore",
    where: "central",
    tier: "standard",
    creates: ["image by glance-direct (all stores)"],
    imports: ["glance-direct"],
  },
  { id: "ms-8-locations", group: "multistore", where: "central", tier: "read-only", creates: [], needs: ["ms-all"] },
  { id: "ms-9-copy-rejected", group: "multistore", where: "central", tier: "standard", creates: [], needs: ["ms-all"] },
  { id: "ms-10-delete-from-store", group: "multistore", where: "central", tier: "standard", creates: [], needs: ["ms-all"] },
  { id: "ms-11-copy-all-stores", group: "multistore", where: "central", tier: "standard", creates: [], needs: ["ms-several"] },
  { id: "ms-12-copy-named-stores", group: "multistore", where: "central", tier: "standard", creates: [], needs: ["ms-central"] },
  { id: "rule-1-same-names", group: "rules", where: "edge", tier: "read-only", creates: [] },
  { id: "rule-2-edge-images-in-central", group: "rules", where: "edge", tier: "read-only", creates: [] },
  { id: "rule-3-edge-images-raw", group: "rules", where: "edge", tier: "read-only", creates: [] },
  { id: "rule-4-edge-upload-to-central-first", group: "rules", where: "edge", tier: "read-only", creates: [] },
  {
    id: "rule-5-image-local-before-use",
    group: "rules",
    where: "edge",
    tier: "standard",
    creates: ["image (1 MiB raw, central store only)", "volume from it in the edge AZ"],
  },
  { id: "conf-1-ceph-health", group: "conformance", where: "every", tier: "read-only", creates: [] },
  { id: "conf-2-ceph-pools", group: "conformance", where: "every", tier: "read-only", creates: [] },
  {
    id: "conf-3-ceph-image-snapshots",
    group: "conformance",
    where: "every",
    tier: "read-only",
    creates: [],
    createsWhenWritable: ["image (1 MiB raw, the site's store), only when the images pool is empty"],
  },
  { id: "conf-4-ceph-caps", group: "conformance", where: "every", tier: "read-only", creates: [] },
  { id: "conf-5-cinder-backend", group: "conformance", where: "every", tier: "read-only", creates: [] },
  { id: "conf-6-nova-az", group: "conformance", where: "every", tier: "read-only", creates: [] },
  { id: "conf-7-glance-import-methods", group: "conformance", where: "central", tier: "read-only", creates: [] },
  { id: "conf-8-glance-disk-formats", group: "conformance", where: "central", tier: "read-only", creates: [] },
  {
    id: "conf-9-glance-locations-exposure",
    group: "conformance",
    where: "central",
    tier: "standard",
    creates: ["image (1 MiB raw) of the non-admin user"],
  },
  {
    id: "conf-10-glance-metadef-policy",
    group: "conformance",
    where: "central",
    tier: "standard",
    creates: ["metadef namespace, only if the policy lets a non-admin user create one"],
  },
  {
    id: "conf-11-cinder-az-fallback",
    group: "conformance",
    where: "central",
    tier: "standard",
    creates: ["volume in an AZ that does not exist, only if Cinder accepts it"],
  },
  { id: "conf-12-images-hidden", group: "conformance", where: "central", tier: "standard", creates: ["image with os_hidden"] },
  {
    id: "conf-13-images-sparse",
    group: "conformance",
    where: "every",
    tier: "standard",
    creates: ["sparse raw image (64 MiB, 1 MiB of data) in the site's store"],
  },
  {
    id: "conf-14-cinder-backup",
    group: "conformance",
    where: "every",
    tier: "standard",
    creates: ["image (site's store), volume from it, its backup, a volume restored from the backup"],
  },
  // dcn-verify canary plant: canaries kept after the run, recorded in the manifest and in their own metadata.
  {
    id: "canary-plant-image",
    group: "canary-plant",
    where: "edge",
    tier: "standard",
    creates: ["canary image (raw, central store, copied to the edge store), kept"],
    provides: ["canary-image"],
  },
  {
    id: "canary-plant-volumes",
    group: "canary-plant",
    where: "edge",
    tier: "standard",
    creates: ["canary volume from the image in the edge AZ, its Cinder snapshot and a volume from the snapshot, kept"],
    needs: ["canary-image"],
    provides: ["canary-volumes"],
  },
  {
    id: "canary-plant-backup",
    group: "canary-plant",
    where: "edge",
    tier: "standard",
    creates: ["canary backup of the canary volume (where the site has a backups pool), kept"],
    needs: ["canary-volumes"],
    provides: ["canary-backup"],
  },
  {
    id: "canary-plant-server",
    group: "canary-plant",
    where: "edge",
    tier: "standard",
    creates: ["canary server booted from a volume of the image in the edge AZ, left ACTIVE, kept"],
    needs: ["canary-image"],
    provides: ["canary-server"],
  },
  {
    id: "canary-plant-record",
    group: "canary-plant",
    where: "edge",
    tier: "standard",
    creates: [],
    needs: ["canary-image", "canary-volumes"],
  },
  // dcn-verify canary verify: the canaries of a set against what plant recorded.
  { id: "canary-image", group: "canary-verify", where: "edge", tier: "read-only", creates: [] },
  { id: "canary-volumes", group: "canary-verify", where: "edge", tier: "read-only", creates: [] },
  { id: "canary-backup", group: "canary-verify", where: "edge", tier: "read-only", creates: [] },
  {
    id: "canary-backup-restore",
    group: "canary-verify",
    where: "edge",
    tier: "standard",
    creates: ["volume restored from the canary backup (deleted at the end)"],
  },
  { id: "canary-server", group: "canary-verify", where: "edge", tier: "read-only", creates: [] },
  {
    id: "canary-new-clone",
    group: "canary-verify",
    where: "edge",
    tier: "standard",
    creates: ["volume from the canary image in the edge AZ (deleted at the end)"],
  },
  {
    id: "canary-copy",
    group: "canary-verify",
    where: "edge",
    tier: "standard",
    creates: ["a copy of the canary image in another edge store (deleted from that store at the end)"],
  },
];

export function catalogEntry(id: string): CatalogEntry {
  const e = CATALOG.find((x) => x.id === id);
  if (!e) throw new Error(`test ${id} is not in helpers/harness/catalog.ts`);
  return e;
}

/**
 * Why a site's config rules a test out there, if it does: nothing exists there for it to verify (conf-14 at a
 * site whose ceph.pools.backups is false or that conformance.backupSites leaves out, and at central unless it lists
 * central; the canary backup's tests there; dcn-3b at a site that names no Glance API of its own). Such a test is not
 * run at that site, nor counted.
 */
export function notApplicable(
  id: string,
  cfg: Pick<Config, "central" | "edges" | "rbd" | "conformance">,
  site: string,
): string | undefined {
  const s = [cfg.central, ...cfg.edges].find((x) => x.name === site);
  if (id === "dcn-3b-edge-glance" && s && !s.glance) return `${site} names no Glance API of its own (glance.endpoint)`;
  if (!s || !["conf-14-cinder-backup", "canary-plant-backup", "canary-backup", "canary-backup-restore"].includes(id)) return undefined;
  const backedUp = cfg.conformance.backupSites;
  if (id === "conf-14-cinder-backup" && site === cfg.central.name && !backedUp)
    return `conf-14 judges the edges' backups unless conformance.backupSites lists ${site}`;
  if (backedUp && !backedUp.includes(site))
    return `${site}'s volumes are not backed up: Cinder schedules a backup in its volume's AZ, and only ${backedUp.join(", ")} ${backedUp.length === 1 ? "runs" : "run"} cinder-backup (conformance.backupSites)`;
  // NOTE: where the config sends every backup to one site's pool (conformance.backupsSite), a site without a backups
  // pool of its own still takes backups, and they land there. A cloud that takes none (false) leaves them not verified.
  const target = backupsTarget(cfg, s);
  if (target.kind === "none" || target.pool !== undefined) return undefined;
  return target.site !== s
    ? `${target.site.name}, where the config sends every backup (conformance.backupsSite), has no backups pool`
    : `${site} has no backups pool (its ceph.pools.backups is false)`;
}

export function tierAllows(max: Tier, tier: Tier): boolean {
  return TIERS.indexOf(tier) <= TIERS.indexOf(max);
}

/** The site's role in the config: its central site, or an edge. */
export function roleOf(cfg: Pick<Config, "central">, site: string): SiteRole {
  return site === cfg.central.name ? "central" : "edge";
}

export function runsAt(e: CatalogEntry, role: SiteRole): boolean {
  return e.where === "every" || e.where === role;
}

/** The catalog's tests at a site of this role, in the groups asked for (and among the tests asked for), in catalog order. */
export function testsAt(role: SiteRole, groups: readonly SuiteGroup[], only?: readonly string[]): CatalogEntry[] {
  return CATALOG.filter((e) => runsAt(e, role) && groups.includes(e.group) && (!only || only.includes(e.id)));
}

/** Each group's tests are declared in suites/<group>.suite.ts; suites/sites.test.ts declares them at each site. */
export function suiteFile(group: SuiteGroup): string {
  return join(PACKAGE_ROOT, "suites", `${group}.suite.ts`);
}

/** The test file of a run: every site's suites, in one worker. */
export const SITES_ENTRY = "suites/sites.test.ts";

/** The suite groups a site of this role runs: those holding at least one of its tests, in catalog order. */
export function suiteGroupsAt(role: SiteRole, groups: readonly SuiteGroup[], only?: readonly string[]): SuiteGroup[] {
  return [...new Set(testsAt(role, groups, only).map((e) => e.group))];
}

/**
 * The tests asked for by id (or by the id's first two parts, "dcn-5" for dcn-5-rbd-parent), with every
 * test they build on, in catalog order.
 */
export function closeOverNeeds(ids: readonly string[]): string[] {
  const keep = new Set<string>();
  const add = (e: CatalogEntry) => {
    if (keep.has(e.id)) return;
    keep.add(e.id);
    for (const need of e.needs ?? [])
      for (const from of CATALOG.filter((c) => c.group === e.group && c.provides?.includes(need))) add(from);
  };
  for (const id of ids) add(catalogEntry(id));
  return CATALOG.filter((e) => keep.has(e.id)).map((e) => e.id);
}

/** The catalog id a name given on the command line means: the id itself, or its first two parts. */
export function resolveTestId(name: string): string | undefined {
  return CATALOG.find((e) => e.id === name)?.id ?? CATALOG.find((e) => e.id.startsWith(`${name}-`) && /^[a-z]+-\d+$/.test(name))?.id;
}

/** The test at this site that provides a thing, if it runs there. */
export function providerOf(role: SiteRole, group: SuiteGroup, product: string): CatalogEntry | undefined {
  return CATALOG.find((e) => e.group === group && runsAt(e, role) && e.provides?.includes(product));
}
