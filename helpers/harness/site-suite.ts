import * as allure from "allure-js-commons";
import { afterAll, beforeAll, describe, type TestContext, test } from "vitest";
import { isNoCephAccess, noAccessReason } from "../ceph/probe.ts";
import { catalogEntry, notApplicable, providerOf, roleOf, runsAt, tierAllows } from "./catalog.ts";
import { openSiteContext, type SiteContext } from "./context.ts";
import { classifyFailure } from "./failure-kind.ts";
import type { RunInfo } from "./model.ts";
import { SiteUnreachableError } from "./reach.ts";
import { CleanupLeftoversError } from "./resources.ts";
import { inSiteScope, progress } from "./steps.ts";
import { activeKnownIssue, blameUnreachable, type SiteSuite, skipTest } from "./suite.ts";

// The worker's side of a suite: its tests declared with vitest at one site. suite.ts (read by the CLI for the
// catalog) does not load vitest.

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
      // NOTE: sequential within its file, whose describe runs beside the site's other files (site-layout.ts).
      test.sequential(title, (t) => inSiteScope(site, t.task.meta, () => guardedBody(t)));
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
