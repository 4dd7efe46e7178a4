import { join } from "node:path";
import { backupsTarget } from "../config/pools.ts";
import type { ImportMethod } from "../clients/image.ts";
import type { Config, Site } from "../config/schema.ts";
import { PACKAGE_ROOT } from "../core/package-root.ts";
import { type SiteRole, type SuiteGroup, TIERS, type Tier } from "./model.ts";

/** What one test holds in the cloud at most, counted against the project's quotas: volumes, Cinder snapshots, backups and servers. */
export interface Holds {
  volumes?: number;
  snapshots?: number;
  backups?: number;
  instances?: number;
}

/** The part of the config that decides whether a test applies at a site. */
export type ApplicabilityConfig = Pick<Config, "central" | "edges" | "rbd" | "conformance">;

/**
 * One test, declared beside its body in suites/<group>.suite.ts (`s.test(declaration, body)`): the catalog, the plan,
 * preflight's quotas and admin warnings, and the reports are derived from these.
 */
export interface TestDeclaration {
  id: string;
  /** The test's name in the reports (it may name the site). */
  title: string;
  /** The sites it runs at: central, each edge, or every site. */
  where: "central" | "edge" | "every";
  tier: Tier;
  /** What the test creates in the cloud (all of it named with the run id, and deleted at the end). */
  creates?: string[];
  /** What it creates besides, only when the run's tier allows writes (standard or above). */
  createsWhenWritable?: string[];
  /** The quota-counted part of what it creates, alive together until its suite ends (images are not counted). */
  holds?: Holds;
  /** What it hands to later tests of its suite (an image, a volume...), by name. */
  provides?: string[];
  /** What it builds on, by name: it is skipped when the test that provides it does not run or did not produce it. */
  needs?: string[];
  /** The import methods it asks Glance for, besides copy-image: conf-7 asks for them, and where Glance does not enable one the test is not verified. */
  imports?: ImportMethod[];
  /** Why it fails or is not verified without the admin role (preflight warns with this). */
  admin?: { why: string };
  /**
   * Why a site's config rules it out there, if it does: nothing exists there for it to verify. Such a test is not
   * run at that site, nor counted.
   */
  notApplicable?: (cfg: ApplicabilityConfig, site: Site) => string | undefined;
}

export interface CatalogEntry extends Omit<TestDeclaration, "title" | "creates"> {
  group: SuiteGroup;
  creates: string[];
}

/** A suite file's tests as its declarations give them, in order. */
export interface SuiteCatalog {
  group: SuiteGroup;
  tests: readonly CatalogEntry[];
}

/**
 * The catalog of the suites given, in their order, checked: an id declared twice, or a need that no earlier test of
 * the same suite provides at the sites it runs at, is an error.
 */
export function deriveCatalog(suites: readonly SuiteCatalog[]): CatalogEntry[] {
  const all = suites.flatMap((s) => s.tests.map((e) => ({ ...e, group: s.group })));
  const problems: string[] = [];
  all.forEach((e, i) => {
    if (all.findIndex((x) => x.id === e.id) !== i) problems.push(`${e.id} is declared twice`);
    const before = all.slice(0, i).filter((x) => x.group === e.group);
    for (const need of e.needs ?? []) {
      const from = before.filter((x) => x.provides?.includes(need));
      if (from.length !== 1 || from[0]!.where !== e.where)
        problems.push(
          `${e.id} needs ${need}, which ${from.length ? `${from.map((x) => `${x.id} (${x.where})`).join(", ")} provide${from.length === 1 ? "s" : ""}` : "no earlier test of its suite provides"}; it needs one earlier test of ${e.group} at the same sites (${e.where})`,
        );
    }
  });
  if (problems.length) throw new Error(`the suites' declarations: ${problems.join("; ")}`);
  return all;
}

let installed: readonly CatalogEntry[] | undefined;

/** Sets the run's catalog: suites/index.ts does, from its list of suites, when it is loaded. */
export function installCatalog(entries: readonly CatalogEntry[]): void {
  installed = entries;
}

/** Every test dcn-verify runs, in order: the suites' declarations (suites/index.ts), as `dcn-verify plan` prints them. */
export function catalog(): readonly CatalogEntry[] {
  if (!installed) throw new Error("no catalog: the suites' declarations are read by importing suites/index.ts first");
  return installed;
}

export function catalogEntry(id: string): CatalogEntry {
  const e = catalog().find((x) => x.id === id);
  if (!e) throw new Error(`test ${id} is declared by no suite (suites/index.ts)`);
  return e;
}

/**
 * Why a site's config rules a test out there, if it does (its declaration's notApplicable). Such a test is not run
 * at that site, nor counted.
 */
export function notApplicable(id: string, cfg: ApplicabilityConfig, site: string): string | undefined {
  const s = [cfg.central, ...cfg.edges].find((x) => x.name === site);
  return s && catalogEntry(id).notApplicable?.(cfg, s);
}

/**
 * Why a site's backups are not verified there: its volumes are not backed up (conformance.backupSites), or the pool
 * its backups go to does not exist.
 */
export function backupsNotApplicable(cfg: ApplicabilityConfig, s: Site): string | undefined {
  const backedUp = cfg.conformance.backupSites;
  if (backedUp && !backedUp.includes(s.name))
    return `${s.name}'s volumes are not backed up: Cinder schedules a backup in its volume's AZ, and only ${backedUp.join(", ")} ${backedUp.length === 1 ? "runs" : "run"} cinder-backup (conformance.backupSites)`;
  // NOTE: where the config sends every backup to one site's pool (conformance.backupsSite), a site without a backups
  // pool of its own still takes backups, and they land there. A cloud that takes none (false) leaves them not verified.
  const target = backupsTarget(cfg, s);
  if (target.kind === "none" || target.pool !== undefined) return undefined;
  return target.site !== s
    ? `${target.site.name}, where the config sends every backup (conformance.backupsSite), has no backups pool`
    : `${s.name} has no backups pool (its ceph.pools.backups is false)`;
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
  return catalog().filter((e) => runsAt(e, role) && groups.includes(e.group) && (!only || only.includes(e.id)));
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
      for (const from of catalog().filter((c) => c.group === e.group && c.provides?.includes(need))) add(from);
  };
  for (const id of ids) add(catalogEntry(id));
  return catalog()
    .filter((e) => keep.has(e.id))
    .map((e) => e.id);
}

/** The catalog id a name given on the command line means: the id itself, or its first two parts. */
export function resolveTestId(name: string): string | undefined {
  return catalog().find((e) => e.id === name)?.id ?? catalog().find((e) => e.id.startsWith(`${name}-`) && /^[a-z]+-\d+$/.test(name))?.id;
}

/** The test at this site that provides a thing, if it runs there. */
export function providerOf(role: SiteRole, group: SuiteGroup, product: string): CatalogEntry | undefined {
  return catalog().find((e) => e.group === group && runsAt(e, role) && e.provides?.includes(product));
}
