import * as allure from "allure-js-commons";
import { afterAll, beforeAll, inject, test, type TestContext } from "vitest";
import type { KnownIssue } from "../helpers/config-schema.ts";
import { classifyFailure, type FailureKind } from "../helpers/failure-kind.ts";
import { formatCleanupFailures } from "../helpers/resources.ts";
import { catalogEntry, tierAllows, type Tier } from "./catalog.ts";
import { openSiteContext, readRunInfo, type SiteContext, type SuiteGroup } from "../helpers/run-context.ts";
import { attachText, progress, setProgressSite } from "../helpers/steps.ts";

declare module "vitest" {
  export interface ProvidedContext {
    site: string;
  }
  export interface TaskMeta {
    testId?: string;
    tier?: Tier;
    failureKind?: FailureKind;
  }
}

/** Whether the run asked for this group of tests (dcn-verify run --suites). */
export function suiteSelected(group: SuiteGroup): boolean {
  return readRunInfo().suites.includes(group);
}

/**
 * Opens the site's context before its tests and, after them, deletes what they created,
 * last-in-first-out. A resource that will not delete fails the run.
 */
export function siteSuite(): { ctx: () => SiteContext; site: string } {
  const site = inject("site");
  setProgressSite(site);
  let ctx: SiteContext | undefined;
  beforeAll(async () => {
    ctx = await openSiteContext(site);
  });
  afterAll(async () => {
    if (!ctx) return;
    const failures = await ctx.tracker.cleanup((line) => progress(`cleanup: ${line}`));
    await Promise.all([...ctx.probes.values()].map((p) => p.close()));
    if (failures.length) throw new Error(`[${site}] cleanup left resources behind:\n${formatCleanupFailures(failures)}`);
  });
  return {
    site,
    ctx: () => {
      if (!ctx) throw new Error(`[${site}] the site context did not open (see the suite's setup error)`);
      return ctx;
    },
  };
}

/** Skips the running test with its reason, in the report as well as in the summary. */
export async function skipTest(t: TestContext, reason: string): Promise<void> {
  await attachText("skipped", reason);
  t.skip(reason);
}

/** The known issue of the config that covers this test at this site today, if any. */
export function activeKnownIssue(issues: KnownIssue[], site: string, id: string, today = new Date()): KnownIssue | undefined {
  const day = today.toISOString().slice(0, 10);
  return issues.find((k) => k.test === id && (!k.site || k.site === site) && k.expires >= day);
}

/**
 * One test, with a stable id (Allure history follows it across runs), its site and tier as labels,
 * a skip when its tier is above the run's or a step it builds on did not succeed, and on failure the
 * kind of failure (product, infrastructure, harness) as a label the reports' categories group by.
 */
export function procedureTest(
  site: string,
  id: string,
  title: string,
  o: { needs?: () => string | undefined },
  body: (t: TestContext) => Promise<void>,
): void {
  const { tier } = catalogEntry(id);
  test(title, async (t) => {
    t.task.meta.testId = id;
    t.task.meta.tier = tier;
    await allure.label("site", site);
    await allure.label("testId", id);
    await allure.label("tier", tier);
    await allure.tags(tier, site);
    const run = readRunInfo();
    if (!tierAllows(run.tier, tier)) {
      return skipTest(t, `tier ${tier} is above this run's --tier ${run.tier}`);
    }
    const missing = o.needs?.();
    if (missing) return skipTest(t, missing);
    const known = activeKnownIssue(run.knownIssues, site, id);
    if (known) {
      await allure.issue(known.reason, known.link);
      await allure.label("knownIssue", "yes");
    }
    try {
      await body(t);
    } catch (e) {
      const kind = classifyFailure(e);
      t.task.meta.failureKind = kind;
      await allure.label("failure", kind);
      throw e;
    }
  });
}
