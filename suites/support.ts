import * as allure from "allure-js-commons";
import { afterAll, beforeAll, inject, test, type TestContext } from "vitest";
import { formatCleanupFailures } from "../helpers/resources.ts";
import { openSiteContext, readRunInfo, type SiteContext, type SuiteGroup } from "../helpers/run-context.ts";
import { attachText, progress, setProgressSite } from "../helpers/steps.ts";

declare module "vitest" {
  export interface ProvidedContext {
    site: string;
  }
  export interface TaskMeta {
    testId?: string;
  }
}

export type Tier = "read-only" | "standard" | "disruptive";

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

/**
 * One test of the procedure, with a stable id (Allure history follows it across runs), its
 * site and tier as labels, and a skip when a step it builds on did not succeed.
 */
export function procedureTest(
  site: string,
  id: string,
  title: string,
  o: { tier: Tier; needs?: () => string | undefined },
  body: (t: TestContext) => Promise<void>,
): void {
  test(title, async (t) => {
    t.task.meta.testId = id;
    await allure.label("site", site);
    await allure.label("testId", id);
    await allure.label("tier", o.tier);
    await allure.tags(o.tier, site);
    const missing = o.needs?.();
    if (missing) {
      await attachText("skipped", missing);
      t.skip(missing);
      return;
    }
    await body(t);
  });
}
