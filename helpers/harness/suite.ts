import * as allure from "allure-js-commons";
import { afterAll, beforeAll, describe, type TestContext, test } from "vitest";
import { CephProbeError, isNoCephAccess, noAccessReason } from "../ceph/probe.ts";
import type { KnownIssue } from "../config/schema.ts";
import {
  type CatalogEntry,
  catalogEntry,
  notApplicable,
  providerOf,
  roleOf,
  runsAt,
  type SuiteCatalog,
  type TestDeclaration,
  tierAllows,
} from "./catalog.ts";
import { openSiteContext, type SiteContext } from "./context.ts";
import { covers } from "./gates.ts";
import { classifyFailure, InfrastructureError } from "./failure-kind.ts";
import type { RunInfo, SiteRole } from "./model.ts";
import { SiteUnreachableError, type Unreachable } from "./reach.ts";
import { CleanupLeftoversError } from "./resources.ts";
import { attachText, inSiteScope, progress } from "./steps.ts";

/** The known issue of the config that covers this failure of this test at this site today, if any. */
export function activeKnownIssue(
  issues: KnownIssue[],
  site: string,
  failure: { id: string; failure: string; failureKind: string },
  today = new Date(),
): KnownIssue | undefined {
  const day = today.toISOString().slice(0, 10);
  return issues.find((k) => k.expires >= day && covers(k, site, failure));
}

/**
 * A failure caused by a site whose Ceph cannot be read is that site's unreachability, not a defect of the cloud:
 * reported as infrastructure, naming the site. The cause is found by type along the error's causes (a
 * SiteUnreachableError, or a probe error of that site's own probe), never in the words of the message.
 */
export function blameUnreachable(e: unknown, ctx: Pick<SiteContext, "unreachable"> | undefined): unknown {
  if (!ctx || e instanceof SiteUnreachableError || classifyFailure(e) === "infrastructure") return e;
  const why = unreachableCause(e, ctx);
  if (!why) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new InfrastructureError(`${message}\n(caused by an unreachable site, ${why.site}: ${why.reason})`, { cause: e });
}

/** The unreachable site behind a failure, from its chain of causes. */
function unreachableCause(e: unknown, ctx: Pick<SiteContext, "unreachable">): Unreachable | undefined {
  for (let c: unknown = e, depth = 0; c instanceof Error && depth < 8; c = c.cause, depth++) {
    if (c instanceof SiteUnreachableError) return c.reach;
    if (!(c instanceof CephProbeError)) continue;
    const down = ctx.unreachable(c.site);
    // NOTE: an object missing on a reached cluster is that cluster's answer; on another cluster than the site's, it is not.
    if (down && (classifyFailure(c) !== "product" || down.state === "wrong-cluster")) return down;
  }
  return undefined;
}

/** Skips the running test with its reason, in the report as well as in the summary. */
export async function skipTest(t: TestContext, reason: string): Promise<void> {
  await attachText("skipped", reason);
  (t.task.meta.notVerified ??= []).push(reason);
  t.skip(reason);
}

export interface SiteSuite {
  site: string;
  role: SiteRole;
  run: RunInfo;
  /** The site's context, open while the suite's tests run. */
  ctx(): SiteContext;
  /** A block of the suite's tests, run one after another (vitest's describe.sequential). */
  describe(title: string, body: () => void): void;
  /**
   * Declares one test: the declaration is its catalog entry (where it runs, its tier, what it builds on...); a test
   * that does not run at this site's role is not declared.
   */
  test(declaration: TestDeclaration, body: (t: TestContext) => Promise<void>): void;
  /** Hands a thing this test's declaration provides to the later tests that need it. */
  give<T>(product: string, value: T): void;
  /** A thing an earlier test gave; the test is skipped before its body when it is missing. */
  take<T>(product: string): T;
  /** A thing an earlier test may have given (one the site's config can rule out), or undefined. */
  maybe<T>(product: string): T | undefined;
}

/** A suite file's tests, declared for one site. */
export type SuiteDefinition = (s: SiteSuite) => void;

/** A suite file: its group, its tests' declarations (read without running them) and its definition at a site. */
export interface Suite extends SuiteCatalog {
  define: SuiteDefinition;
}

/**
 * A suite file's tests. The declarations are read by running the definition once with no site: its describe blocks
 * and test declarations are recorded, no body runs, and vitest is not called.
 */
export function defineSuite(group: Suite["group"], define: SuiteDefinition): Suite {
  const tests: CatalogEntry[] = [];
  const onlyInBody = (what: string) => () => {
    throw new Error(`suite ${group}: ${what} is read only in a test's body`);
  };
  const run = new Proxy({} as RunInfo, { get: (_, k) => onlyInBody(`run.${String(k)}`)() });
  define({
    site: "<site>",
    role: "edge",
    run,
    ctx: onlyInBody("ctx()"),
    describe: (_title, body) => body(),
    test: ({ title: _title, creates, ...declaration }) => {
      tests.push({ ...declaration, group, creates: creates ?? [] });
    },
    give: onlyInBody("give()"),
    take: onlyInBody("take()"),
    maybe: onlyInBody("maybe()"),
  });
  return { group, tests, define };
}

/**
 * One suite file's tests at one site, declared inside the site's describe: opens the site's context
 * before its tests and, after them, deletes what they created, last-in-first-out. A resource that will
 * not delete fails the run.
 */
export function siteSuite(site: string, run: RunInfo): SiteSuite {
  const role = roleOf(run.config, site);
  let ctx: SiteContext | undefined;
  const products = new Map<string, unknown>();
  beforeAll(() =>
    inSiteScope(site, undefined, async () => {
      ctx = await openSiteContext(run, site);
    }),
  );
  afterAll(() =>
    inSiteScope(site, undefined, async () => {
      if (!ctx) return;
      const failures = await ctx.tracker.cleanup((line) => progress(`cleanup: ${line}`));
      await Promise.all([...ctx.probes.values()].map((p) => p.close()));
      if (failures.length) throw new CleanupLeftoversError(site, failures);
    }),
  );

  /** Why a test cannot run yet: a tier above the run's, or a thing it builds on that no earlier test gave. */
  function blocked(id: string): { why: string; aboveTier: boolean } | undefined {
    const e = catalogEntry(id);
    if (!tierAllows(run.tier, e.tier)) return { why: `tier ${e.tier} is above this run's --tier ${run.tier}`, aboveTier: true };
    const missing = (e.needs ?? []).find((p) => !products.has(p));
    if (!missing) return undefined;
    const from = providerOf(role, e.group, missing);
    if (from && withheldByTier(from.id))
      return { why: `needs the ${missing} of ${from.id}, which this run's --tier ${run.tier} leaves out`, aboveTier: true };
    return { why: `needs the ${missing} of ${from?.id ?? "no test at this site"}, which did not produce it`, aboveTier: false };
  }

  /** A test the run's tier keeps from running, directly or through a test it builds on. */
  function withheldByTier(id: string): boolean {
    const e = catalogEntry(id);
    if (!tierAllows(run.tier, e.tier)) return true;
    return (e.needs ?? []).some((p) => {
      const from = providerOf(role, e.group, p);
      return from !== undefined && withheldByTier(from.id);
    });
  }

  return {
    site,
    role,
    run,
    ctx: () => {
      if (!ctx) throw new Error(`[${site}] the site context did not open (see the suite's setup error)`);
      return ctx;
    },
    give: (product, value) => {
      products.set(product, value);
    },
    take: <T>(product: string) => {
      if (!products.has(product)) throw new Error(`[${site}] nothing gave ${product}: declare it in the catalog's needs`);
      return products.get(product) as T;
    },
    maybe: <T>(product: string) => products.get(product) as T | undefined,
    describe: (title, body) => describe.sequential(title, body),
    test({ id, title }, body) {
      const entry = catalogEntry(id);
      if (!runsAt(entry, role) || (run.tests && !run.tests.includes(id)) || notApplicable(id, run.config, site)) return;
      test(title, (t) => inSiteScope(site, t.task.meta, () => guardedBody(t)));
      async function guardedBody(t: TestContext): Promise<void> {
        t.task.meta.testId = id;
        t.task.meta.tier = entry.tier;
        const block = blocked(id);
        if (block) {
          if (block.aboveTier) t.task.meta.aboveTier = true;
          return skipTest(t, block.why);
        }
        try {
          const down = ctx?.unreachable(site);
          if (down) throw new SiteUnreachableError(down, "this test");
          await body(t);
        } catch (e) {
          // NOTE: vitest's t.skip() throws to end the test (skipTest): a skip is neither a failure nor a known issue's.
          if ((e as { code?: string } | null)?.code === "VITEST_PENDING") throw e;
          // NOTE: what ran before the first Ceph call (the API's side) stays in the report as passed steps.
          if (isNoCephAccess(e)) return skipTest(t, noAccessReason(e.reason));
          const failure = blameUnreachable(e, ctx);
          const kind = classifyFailure(failure);
          const message = failure instanceof Error ? failure.message : String(failure);
          const known = activeKnownIssue(run.config.knownIssues, site, { id, failure: message, failureKind: kind });
          if (known) {
            await allure.issue(known.reason, known.link);
            await allure.label("knownIssue", "yes");
          }
          throw failure;
        }
      }
    },
  };
}
