import { describe, inject } from "vitest";
import { siteSuite } from "../helpers/harness/site-suite.ts";
import { SUITES } from "./index.ts";

const run = inject("run");

/**
 * Every site of the run in one worker: the sites side by side (as many at once as the run's maxConcurrency, in the
 * plan's order, central first), each site's suite files one after another, each file's tests in order.
 */
for (const { site, groups } of inject("plan"))
  describe(site, { concurrent: true }, () => {
    for (const group of groups) describe.sequential(group, () => SUITES[group].define(siteSuite(site, run)));
  });
