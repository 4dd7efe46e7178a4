import { describe, inject } from "vitest";
import type { SuiteGroup } from "../helpers/harness/model.ts";
import { type SuiteDefinition, siteSuite } from "../helpers/harness/suite.ts";
import canaryPlant from "./canary-plant.suite.ts";
import canaryVerify from "./canary-verify.suite.ts";
import conformance from "./conformance.suite.ts";
import multistore from "./multistore.suite.ts";
import procedure from "./procedure.suite.ts";
import rules from "./rules.suite.ts";

const SUITES: Record<SuiteGroup, SuiteDefinition> = {
  procedure,
  multistore,
  rules,
  conformance,
  "canary-plant": canaryPlant,
  "canary-verify": canaryVerify,
};

const run = inject("run");

/**
 * Every site of the run in one worker: the sites side by side (as many at once as the run's maxConcurrency, in the
 * plan's order, central first), each site's suite files one after another, each file's tests in order.
 */
for (const { site, groups } of inject("plan"))
  describe(site, { concurrent: true }, () => {
    for (const group of groups) describe.sequential(group, () => SUITES[group](siteSuite(site, run)));
  });
