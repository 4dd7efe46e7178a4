import type {} from "vitest";
import type { Config } from "../config/schema.ts";
import type { CanaryManifest } from "./canary.ts";
import type { SiteGates } from "./gates.ts";
import type { RbdLeftover, RbdNotChecked } from "./rbd-leftovers.ts";
import type { Reach, SiteReach } from "./reach.ts";
import type { Leftover } from "./resources.ts";

/** read-only: lists and inspects; standard: creates and deletes its own resources; disruptive: stops servers, breaks things. */
export const TIERS = ["read-only", "standard", "disruptive"] as const;
export type Tier = (typeof TIERS)[number];

export const SUITE_GROUPS = ["procedure", "multistore", "rules", "conformance"] as const;
/** The suites of `dcn-verify canary plant` and `canary verify`: never part of a `run`. */
export const CANARY_GROUPS = ["canary-plant", "canary-verify"] as const;
export type SuiteGroup = (typeof SUITE_GROUPS)[number] | (typeof CANARY_GROUPS)[number];

/** A site is the run's central site, or one of its edges. */
export type SiteRole = "central" | "edge";

/**
 * Why a test failed, for the reports' categories:
 * - product: a check about the cloud failed (a defect, a refusal, a resource in an error state);
 * - infrastructure: the cloud or Ceph could not be reached or did not answer in time (timeouts, 5xx, network, probe);
 * - harness: anything else, a bug in dcn-verify or an answer it does not understand.
 */
export type FailureKind = "product" | "infrastructure" | "harness";

/** A test's failure as facts: the site it is about, its category, and the object at fault where one is known. */
export interface FailureCause {
  site: string;
  category: FailureKind;
  object?: string;
}

/** What a run hands to each site's tests, once, as data. */
export interface RunInfo {
  runId: string;
  /** --group: the run group of a sharded run; its shards' resources carry it (GROUP_PROPERTY). */
  group?: string;
  /** --shard i/n: which share of the sites this run is. */
  shard?: Shard;
  runDir: string;
  configPath: string;
  /** The validated config: the sites' worker neither reads nor validates the file again. */
  config: Config;
  /** The central site first, then the edge sites to run. */
  sites: string[];
  suites: SuiteGroup[];
  /** --tests: only these run; every test of the suites when absent. */
  tests?: string[];
  /** The highest tier the run may execute. */
  tier: Tier;
  startedAt: string;
  testTimeoutMs: number;
  /** Scratch space for image files, outside reports/; the run removes it at its end. */
  workDir: string;
  /** The run's image server for web-download: files written to dir are at <baseUrl>/<name>. */
  web?: { baseUrl: string; dir: string };
  /** Each site's Ceph, as found before the first test: answering, and the cluster pinned for it. */
  reach?: Reach;
  /** A canary run: the set planted (its id is canary-<run id> of the plant), and for verify what plant recorded. */
  canary?: { setId: string; manifest?: CanaryManifest; rebuilt?: boolean };
}

/** One of n shares of a run's sites: central in the first, the edges round-robin in the config's order. */
export interface Shard {
  index: number;
  count: number;
}

export interface TestSummary {
  id: string;
  title: string;
  status: "passed" | "failed" | "skipped";
  durationMs: number;
  tier?: string;
  /** For a failure: product, infrastructure or harness. */
  failureKind?: string;
  failure?: string;
  /** Findings that did not fail the test. */
  warnings?: string[];
  /** What the test could not look at (for a skipped test: why it did not run). */
  notVerified?: string[];
  /** Skipped because of the run's tier (its own, or that of a test it builds on). */
  aboveTier?: boolean;
}

export interface SiteSummary {
  site: string;
  status: "passed" | "failed";
  tests: TestSummary[];
  /** Errors outside a test: the site's setup, or its suite not running at all. */
  errors: string[];
  /** What the site's cleanup, or the run's sweep after it, could not delete at this site (each names the resource and why). */
  cleanup?: string[];
  /** The site's verdict, from judgeSite: what the exit code, the fleet page and JUnit read. */
  verdict?: Verdict;
  /** The site's quality gates, evaluated at the end of the run. */
  gates?: SiteGates;
  counts?: { passed: number; failed: number; warnings: number; notVerified: number };
  /** The site's Ceph as the run found it before the first test. */
  ceph?: SiteReach;
  /** When the site's first suite file started and its last one ended (with --max-parallel, sites wait their turn). */
  startedAt?: string;
  finishedAt?: string;
  /** Wall time (ms) the site's tests and hooks spent in cloud calls and waits, overlapping ones counted once. */
  cloudWaitMs?: number;
}

/** A resource the run's sweep could not delete, as the journal recorded it, and why (resources.ts). */
export type SweepLeftover = Leftover;

/** Whether a site (or a run) passed, and each reason it did not. */
export interface Verdict {
  ok: boolean;
  reasons: string[];
}

/** What a run selected, beyond its sites and suites: merge refuses shards that selected differently. */
export interface SelectionRecord {
  /** --sites as given (the sites asked for, central included); undefined: every configured site. */
  sitesAsked?: string[];
  tests?: string[];
  strict: boolean;
  /** --tier was given (a site fails on anything left not verified within it). */
  tierGiven: boolean;
}

export interface RunSummary {
  runId: string;
  /** The run group (--group): the same in every shard of a sharded run. */
  group?: string;
  /** --shard: which share of the sites this run was. */
  shard?: Shard;
  /** A shard's config's sites in order: how 'merge' orders the shards' sites as one run would. */
  configSites?: string[];
  /** A merged run: the shards' run ids, in shard order. */
  shards?: string[];
  /** Which cloud the run was against (no credentials): diff refuses to compare runs of different clouds. */
  cloud?: { authUrl: string; region: string; project: string };
  tier?: string;
  suites?: string[];
  startedAt: string;
  finishedAt: string;
  /** When the run's first API request (its token request) went out: what came before it is start-up. */
  firstRequestAt?: string;
  interrupted: boolean;
  sites: SiteSummary[];
  /** rbd images the cloud deleted from its API but left in a site's pools, after the run's sweep. */
  rbdLeftovers?: RbdLeftover[];
  /** Pools the look for rbd leftovers could not list. */
  rbdNotChecked?: RbdNotChecked[];
  /** The sites each run was to cover (this shard's share of the selected sites), and the rest of its selection. */
  selection?: SelectionRecord & { sites: string[] };
  /** What the run's sweep could not delete at a site that has no summary of its own (one that did not run). */
  leftBehind?: string[];
  /** What the run's sweep could not delete, each resource as its journal recorded it (a merged run: every shard's). */
  sweepLeftovers?: SweepLeftover[];
  /** The overlay laid over the config (--overlay, DCN_VERIFY_OVERLAY): what the run changed of the config file. */
  overlay?: string;
  /** The run's verdict, from judgeRun: exit 0 only when ok. */
  verdict?: Verdict;
}

/** One site of a run: the suite groups it runs, in the catalog's order. */
export interface SitePlan {
  site: string;
  groups: SuiteGroup[];
}

declare module "vitest" {
  export interface ProvidedContext {
    run: RunInfo;
    /** The sites in the run's order, central first, each with the suite groups it runs. */
    plan: SitePlan[];
    /** How many sites run at once (--max-parallel). */
    sitesAtOnce: number;
  }
  export interface TaskMeta {
    testId?: string;
    tier?: Tier;
    /** Why the test failed, recorded once where its body ends (inSiteScope). */
    failure?: FailureCause;
    warnings?: string[];
    notVerified?: string[];
    /** Skipped because of the run's tier: the test's own, or that of a test it builds on. */
    aboveTier?: boolean;
  }
}
