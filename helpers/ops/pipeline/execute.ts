import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { dependencyModule, PACKAGE_ROOT, userCacheDir } from "../../core/package-root.ts";
import { redactText } from "../../core/redact.ts";
import { PerSiteAllureReporter } from "../../harness/allure-per-site.ts";
import { SITES_ENTRY } from "../../harness/catalog.ts";
import type { SiteSummary } from "../../harness/model.ts";
import { LiveProgress } from "../../harness/progress.ts";
import { RunReporter } from "../../harness/reporter.ts";
import { DEFAULT_MAX_PARALLEL } from "../selection.ts";
import type { Prepared } from "./prepare.ts";

/** The young generation's semi-space of the sites' worker heap, in MB (V8's default is 16). */
const WORKER_SEMI_SPACE_MB = 2;

/** What the sites' worker reported: each site that ran, and whether a signal cut the run short. */
export interface Executed {
  sites: SiteSummary[];
  interrupted: boolean;
}

/**
 * Runs the plan's sites in one vitest worker, side by side (at most maxParallel at once; within a site its suite
 * files overlap), with the run handed to the worker as data. siteDone: a site's suites have all ended and its Allure
 * results are written. SIGINT/SIGTERM start no new step; the run goes on to its sweep.
 */
export async function execute(
  prep: Prepared,
  o: { maxParallel?: number; verbose?: boolean; siteDone: (site: string) => void; log: (line: string) => void },
): Promise<Executed> {
  const { info, plan } = prep;
  const reporter = new RunReporter(
    new LiveProgress(process.stderr, { verbose: o.verbose }),
    plan.map((p) => p.site),
    o.siteDone,
  );
  const inFlight = Math.max(1, Math.min(o.maxParallel ?? DEFAULT_MAX_PARALLEL, plan.length));
  const { createVitest } = await prep.runner;
  // NOTE: V8's flags are the process's, and the sites' worker thread sizes its heap from them when it starts. The sites
  // stream image data through buffers that die young: with 2 MB young-generation semi-spaces instead of V8's 16, a
  // 2-edge run on the lab peaked at 357-375 MB instead of 432 (measured with a worker per site). A flag the operator
  // gives Node (NODE_OPTIONS) wins.
  if (![...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)].some((a) => a.startsWith("--max-semi-space-size")))
    setFlagsFromString(`--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`);
  const vitestCache = userCacheDir("vitest");
  let interrupted = false;
  let vitest: Awaited<ReturnType<typeof createVitest>> | undefined;
  const onSignal = (sig: string) => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n${sig}: starting no new steps; cleaning up what the run created\n`);
    void vitest?.cancelCurrentRun("keyboard-input");
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    vitest = await createVitest("test", {
      config: false,
      root: PACKAGE_ROOT,
      // NOTE: vitest's results cache sits under the root, which may be an installed package: the run writes nothing there.
      cache: false,
      // NOTE: with the suites' transformed modules kept in the user's cache, a site's first step comes about 2.1 s after
      // vitest starts instead of 2.8 s.
      ...(vitestCache ? { experimental: { fsModuleCache: true, fsModuleCachePath: vitestCache } } : {}),
      watch: false,
      run: true,
      pool: "threads",
      // NOTE: one worker runs every site: a worker thread with its own module graph cost about 100 MB a site. vitest's
      // maxConcurrency bounds the concurrent describes at each level and the tests and hooks running at once: it leaves
      // room for every file of every site, and the layout lets sitesAtOnce sites in at a time (site-layout.ts).
      maxWorkers: 1,
      maxConcurrency: plan.reduce((n, p) => n + p.groups.length + 1, 0),
      // NOTE: vitest calls the reporters' hooks in this order; the Allure one writes a site's results in its
      // onTestSuiteResult, synchronously, before RunReporter's begins the site's report.
      reporters: [new PerSiteAllureReporter({ resultsDir: join(info.runDir, "allure-results") }), reporter],
      include: [SITES_ENTRY],
      provide: { run: info, plan, sitesAtOnce: inFlight },
      setupFiles: [dependencyModule("allure-vitest/setup")],
      testTimeout: info.testTimeoutMs,
      hookTimeout: info.testTimeoutMs,
      retry: 0,
    });
    // NOTE: vitest's logger exits the process on SIGINT/SIGTERM; here a signal must stop the run and clean up instead.
    for (const sig of ["SIGINT", "SIGTERM"] as const) for (const l of process.listeners(sig)) if (l !== onSignal) process.off(sig, l);
    await vitest.start();
    await vitest.close();
  } catch (e) {
    o.log(`the test runner failed: ${redactText((e as Error).message)}`);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    // NOTE: the worker's last progress events are delivered on a later turn of the event loop.
    await new Promise((done) => setImmediate(done));
    reporter.close();
    await prep.imageServer?.close();
  }
  return { sites: reporter.sites(), interrupted };
}
