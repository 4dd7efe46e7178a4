import { inject } from "vitest";
import { layOutSites } from "../helpers/harness/site-layout.ts";
import { siteSuite } from "../helpers/harness/site-suite.ts";
import { SUITES } from "./index.ts";

const run = inject("run");

// Every site of the run in one worker, its suite files side by side (helpers/harness/site-layout.ts).
layOutSites(inject("plan"), inject("sitesAtOnce"), (site, group) => SUITES[group].define(siteSuite(site, run)));
