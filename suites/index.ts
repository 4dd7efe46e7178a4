import { deriveCatalog, installCatalog } from "../helpers/harness/catalog.ts";
import type { SuiteGroup } from "../helpers/harness/model.ts";
import type { Suite } from "../helpers/harness/suite.ts";
import canaryPlant from "./canary-plant.suite.ts";
import canaryVerify from "./canary-verify.suite.ts";
import conformance from "./conformance.suite.ts";
import multistore from "./multistore.suite.ts";
import procedure from "./procedure.suite.ts";
import rules from "./rules.suite.ts";

/**
 * Every suite, in the catalog's order: the one list. Loading this module derives the catalog from the suites'
 * declarations and installs it for helpers/ (which may not import suites/); the CLI, the run's worker
 * (suites/sites.test.ts), bench and the tests load it before anything reads the catalog.
 */
export const SUITES = {
  procedure,
  multistore,
  rules,
  conformance,
  "canary-plant": canaryPlant,
  "canary-verify": canaryVerify,
} as const satisfies Record<SuiteGroup, Suite>;

/** Every test, in order, from the suites' declarations. */
export const CATALOG = deriveCatalog(Object.values(SUITES));
installCatalog(CATALOG);
