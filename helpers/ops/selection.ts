import { ConfigError } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { catalog, catalogEntry, closeOverNeeds, resolveTestId } from "../harness/catalog.ts";
import { type Shard, SUITE_GROUPS, type SuiteGroup, TIERS, type Tier } from "../harness/model.ts";
import { GROUP_ID } from "../harness/naming.ts";

/** The run's highest tier: --tier (default standard), capped at read-only for a production cloud unless writes are allowed. */
export function selectTier(asked: string | undefined, production: boolean, allowWrites: boolean): { tier: Tier; notice?: string } {
  const want = asked ?? "standard";
  if (!TIERS.includes(want as Tier)) throw new ConfigError(`--tier: unknown tier '${want}'; one of ${TIERS.join(", ")}`, []);
  if (production && !allowWrites && want !== "read-only") {
    return {
      tier: "read-only",
      notice: `production: true in the config caps the run at tier read-only (asked: ${want}); give --allow-writes to lift the cap`,
    };
  }
  return { tier: want as Tier };
}

/** Known issues must name tests that exist. */
export function checkKnownIssues(cfg: Config): void {
  const bad = cfg.knownIssues.map((k, i) => ({ k, i })).filter(({ k }) => !catalog().some((c) => c.id === k.test));
  if (bad.length) {
    throw new ConfigError(
      bad.map(({ k, i }) => `config knownIssues[${i}].test: no test '${k.test}' (see dcn-verify plan for the ids)`).join("\n"),
      [],
    );
  }
}

export function selectSuites(only?: string): SuiteGroup[] {
  if (!only) return [...SUITE_GROUPS];
  const asked = only
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = asked.filter((s) => !(SUITE_GROUPS as readonly string[]).includes(s));
  if (unknown.length || asked.length === 0)
    throw new ConfigError(`--suites: unknown group ${unknown.join(", ") || "(none given)"}; the groups are ${SUITE_GROUPS.join(", ")}`, []);
  return SUITE_GROUPS.filter((g) => asked.includes(g));
}

/**
 * --tests: the tests asked for, with what they build on. Unknown names are refused, and so is a test
 * outside the groups --suites asked for.
 */
export function selectTests(only: string | undefined, suites: readonly SuiteGroup[]): string[] | undefined {
  if (only === undefined) return undefined;
  const asked = only
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = asked.filter((s) => !resolveTestId(s));
  if (unknown.length || asked.length === 0)
    throw new ConfigError(
      `--tests: unknown test ${unknown.join(", ") || "(none given)"}; give ids as dcn-verify plan prints them (dcn-5-rbd-parent, or dcn-5)`,
      [],
    );
  const ids = closeOverNeeds(asked.map((s) => resolveTestId(s)!));
  const outside = ids.filter((id) => !suites.includes(catalogEntry(id).group));
  if (outside.length) throw new ConfigError(`--tests: ${outside.join(", ")} not in --suites ${suites.join(",")}`, []);
  return ids;
}

/** --max-parallel: a whole number of sites, at least 1. */
export function parseMaxParallel(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < 1)
    throw new ConfigError(`--max-parallel: expected a whole number of sites, at least 1, got '${v}'`, []);
  return n;
}

/** --shard i/n: the i-th of n shares of the sites, 1 <= i <= n. */
export function parseShard(v: string | undefined): Shard | undefined {
  if (v === undefined) return undefined;
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(v);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index < 1 || index > count)
    throw new ConfigError(`--shard: expected i/n with 1 <= i <= n (1/2 is the first of two shards), got '${v}'`, []);
  return { index, count };
}

/** CI systems' ids of one pipeline, which every job of its matrix sees alike: a sharded run's group by default. */
const CI_GROUP_VARIABLES = ["DCN_VERIFY_GROUP", "CI_PIPELINE_ID", "GITHUB_RUN_ID", "ZUUL_BUILDSET"] as const;

/** The run group: --group, else, for a shard, a CI pipeline's id from the environment. */
export function selectGroup(asked: string | undefined, shard: Shard | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = CI_GROUP_VARIABLES.map((k) => (env[k] ? { k, v: env[k]! } : undefined)).find(Boolean);
  const group = asked ?? (shard ? fromEnv?.v : undefined);
  const from = asked !== undefined ? "--group" : fromEnv?.k;
  if (group === undefined) return undefined;
  if (!GROUP_ID.test(group))
    throw new ConfigError(
      `${from}: a run group is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit; got '${group}'`,
      [],
    );
  return group;
}

/**
 * A sharded run that creates resources needs a group, so that its shards know each other's (a plan creates nothing,
 * and needs none).
 */
export function requireGroup(sel: Pick<Selection, "shard" | "group">): void {
  if (sel.shard && !sel.group)
    throw new ConfigError(
      `--shard ${sel.shard.index}/${sel.shard.count} needs --group <id>, the same for every shard of the run (or ${CI_GROUP_VARIABLES.join(", ")} in the environment)`,
      [],
    );
}

/**
 * The sites of one shard: central in the first shard only, and the edges dealt round-robin in the order given
 * (edge k of the selection, from 0, to shard k mod n + 1): the same split in every shard of the run.
 */
export function shardSites(sites: readonly string[], central: string, shard: Shard | undefined): string[] {
  if (!shard) return [...sites];
  const edges = sites.filter((s) => s !== central);
  const mine = edges.filter((_, k) => k % shard.count === shard.index - 1);
  const out = [...(shard.index === 1 && sites.includes(central) ? [central] : []), ...mine];
  if (!out.length)
    throw new ConfigError(
      `--shard ${shard.index}/${shard.count}: no site falls to this shard (central and ${edges.length} edge(s) over ${shard.count} shards)`,
      [],
    );
  return out;
}

/** The sites to run: central always (its checks come first), then the edges asked for. */
export function selectSites(cfg: Config, only?: string): string[] {
  const edges = cfg.edges.map((e) => e.name);
  if (!only) return [cfg.central.name, ...edges];
  const asked = only
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = asked.filter((s) => s !== cfg.central.name && !edges.includes(s));
  if (unknown.length)
    throw new ConfigError(`--sites: unknown site ${unknown.join(", ")}; the config has ${[cfg.central.name, ...edges].join(", ")}`, []);
  return [cfg.central.name, ...edges.filter((e) => asked.includes(e))];
}

export interface Selection {
  sites: string[];
  suites: SuiteGroup[];
  tier: Tier;
  /** --tests: only these tests run (what was asked, and what it builds on); all when not given. */
  tests?: string[];
  /** --max-parallel: at most this many sites in flight. */
  maxParallel?: number;
  /** --shard: this run is one share of the sites. */
  shard?: Shard;
  /** --group, or a CI pipeline's id for a sharded run: what its shards' resources share. */
  group?: string;
  /** --sites as given (central included); absent: every configured site. */
  sitesAsked?: string[];
  /** Why the tier is lower than asked, if it is. */
  notice?: string;
  /** Fail each site on any warning or anything not verified (--strict). */
  strict?: boolean;
  /**
   * --tier was given: a site fails when anything within that tier stays not verified (unless the config's
   * gate sets maxNotVerifiedInTier, or --allow-not-verified is given).
   */
  tierGiven?: boolean;
}

/** What `run` and `plan` select from the same options; bad options throw a ConfigError naming them. */
export function select(
  cfg: Config,
  o: {
    sites?: string;
    suites?: string;
    tests?: string;
    tier?: string;
    allowWrites?: boolean;
    strict?: boolean;
    allowNotVerified?: boolean;
    maxParallel?: string;
    shard?: string;
    group?: string;
  },
  env: NodeJS.ProcessEnv = process.env,
): Selection {
  const groups = selectSuites(o.suites);
  const tests = selectTests(o.tests, groups);
  const suites = tests ? groups.filter((g) => tests.some((id) => catalogEntry(id).group === g)) : groups;
  checkKnownIssues(cfg);
  const shard = parseShard(o.shard);
  const group = selectGroup(o.group, shard, env);
  const sites = shardSites(selectSites(cfg, o.sites), cfg.central.name, shard);
  const { tier, notice } = selectTier(o.tier, cfg.production, Boolean(o.allowWrites));
  const maxParallel = parseMaxParallel(o.maxParallel);
  return {
    sites,
    ...(o.sites !== undefined ? { sitesAsked: selectSites(cfg, o.sites) } : {}),
    ...(shard ? { shard } : {}),
    ...(group ? { group } : {}),
    suites,
    ...(tests ? { tests } : {}),
    ...(maxParallel !== undefined ? { maxParallel } : {}),
    tier,
    ...(notice ? { notice } : {}),
    ...(o.strict ? { strict: true } : {}),
    ...(o.tier !== undefined && !o.allowNotVerified ? { tierGiven: true } : {}),
  };
}

/** Sites whose tests run at once when --max-parallel is not given. */
export const DEFAULT_MAX_PARALLEL = 4;
