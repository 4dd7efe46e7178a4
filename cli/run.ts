import "../suites/index.ts";
import { resolve } from "node:path";
import { loadConfig } from "../helpers/config/load.ts";
import type { Config } from "../helpers/config/schema.ts";
import { redactText } from "../helpers/core/redact.ts";
import { SUITE_GROUPS } from "../helpers/harness/model.ts";
import { requireSomethingToRun } from "../helpers/ops/pipeline/prepare.ts";
import { formatOutcome } from "../helpers/ops/pipeline/publish.ts";
import { runVerification } from "../helpers/ops/pipeline/run.ts";
import { DEFAULT_MAX_PARALLEL, requireGroup, type Selection, select, selectSuites } from "../helpers/ops/selection.ts";
import { checkMetricsTargets, exportMetrics, type MetricsTargets } from "../helpers/ops/metrics.ts";
import { configPathOf, parseCommand, SELECTION_OPTIONS, useOverlay } from "./args.ts";

export const RUN_USAGE = `usage: dcn-verify run [--config FILE] [--overlay FILE] [--sites dcn0,dcn1] [--suites ${SUITE_GROUPS.join(",")}] [--tests IDS] [--tier TIER] [--allow-writes] [--strict] [--allow-not-verified] [--max-parallel N] [--shard I/N] [--group ID] [--verbose] [--reports DIR] [--no-html] [--metrics-textfile PATH] [--pushgateway URL]
  Runs the DCN verification procedure: central's checks and, in parallel, each edge site's.
  --tier is the highest tier that runs: read-only (lists and inspects), standard (creates and deletes its own
  resources; the default) or disruptive (also stops servers). With production: true in the config the tier is
  capped at read-only unless --allow-writes is given.
  --suites picks groups: procedure (steps 1-7), multistore (Glance multi-store import, at central),
  rules (the DCN edge rules, at each edge), conformance (deployment checks, at every site). All by default.
  --tests runs only the tests named (ids as plan prints them, or their first parts: dcn-5), with the tests they
  build on: --tests dcn-6 runs steps 3, 4 and 6 at each edge.
  --strict fails a site on any warning, and on anything left not verified (a skipped test, or a part of a test).
  With --tier given, a site fails when anything within that tier stays not verified (tests above the tier do not
  count); --allow-not-verified, or the config's gates.maxNotVerifiedInTier, lifts that.
  --max-parallel N: at most N sites in flight (default ${DEFAULT_MAX_PARALLEL}); central's tests start first.
  --shard I/N runs the I-th of N shares of the sites, for a CI matrix: central in shard 1, the edges dealt
  round-robin in the config's order. Every shard of the run gives the same --group ID (by default the pipeline's
  CI_PIPELINE_ID, GITHUB_RUN_ID or ZUUL_BUILDSET, or DCN_VERIFY_GROUP): the rules leave the group's resources
  alone. 'dcn-verify merge' joins the shards' run directories into one.
  On a terminal, progress is a line per site in flight, redrawn in place; --verbose (or output that is not a
  terminal) prints a line per step instead.
  --no-html skips each site's Allure HTML report (about 1.5 CPU seconds a site): the Allure results, summary.json,
  junit.xml and the fleet page are still written, and 'npx allure generate <run>/<site>/allure-results' builds a
  report later.
  --metrics-textfile PATH (a .prom file, for node_exporter's textfile collector) and --pushgateway URL (job
  dcn_verify, grouped by site) export the run's results as Prometheus metrics once summary.json is written (see
  'dcn-verify metrics --help'). The run's verdict is the exit code; when the run passed but the metrics could not be
  written or pushed, it exits 1.
  With no --config, DCN_VERIFY_CONFIG or the embedded lab's config is used. --overlay (or DCN_VERIFY_OVERLAY) lays
  hosts, ports, paths and fsids over it (docs/configuration.md, Overlay).`;

/** Every option run takes: its usage names each (a unit test holds it to that). */
export const RUN_OPTIONS = {
  ...SELECTION_OPTIONS,
  reports: { type: "string" },
  strict: { type: "boolean" },
  "allow-not-verified": { type: "boolean" },
  "max-parallel": { type: "string" },
  shard: { type: "string" },
  group: { type: "string" },
  verbose: { type: "boolean" },
  "no-html": { type: "boolean" },
  "metrics-textfile": { type: "string" },
  pushgateway: { type: "string" },
} as const;

export async function runCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, RUN_OPTIONS, RUN_USAGE);
  if (typeof parsed === "number") return parsed;
  const args = parsed.values;
  const say = (line: string) => process.stderr.write(`dcn-verify run: ${line}\n`);
  let cfg: Config;
  let configPath: string;
  let sel: Selection;
  let metrics: MetricsTargets;
  try {
    metrics = checkMetricsTargets(args);
    selectSuites(args.suites);
    useOverlay(args.overlay);
    configPath = configPathOf(args.config);
    cfg = await loadConfig(configPath);
    sel = select(cfg, {
      sites: args.sites,
      suites: args.suites,
      tests: args.tests,
      tier: args.tier,
      allowWrites: args["allow-writes"],
      strict: args.strict,
      allowNotVerified: args["allow-not-verified"],
      maxParallel: args["max-parallel"],
      shard: args.shard,
      group: args.group,
    });
    requireGroup(sel);
    requireSomethingToRun(cfg, sel);
    if (sel.notice) say(sel.notice);
  } catch (e) {
    say(redactText((e as Error).message));
    return 2;
  }
  const out = await runVerification(cfg, configPath, sel, {
    reportsRoot: resolve(args.reports ?? cfg.reportsDir),
    log: say,
    verbose: args.verbose,
    html: !args["no-html"],
  });
  if (out.summary) process.stdout.write(formatOutcome(out));
  if (metrics.textfile === undefined && metrics.pushgateway === undefined) return out.exitCode;
  if (!out.summary) {
    say("no summary was written: no metrics exported");
    return out.exitCode || 1;
  }
  // NOTE: the run's verdict is the exit code; a run that passed but whose metrics were lost exits 1: an operator relies on them.
  const exported = await exportMetrics(out.summary, cfg, metrics, say);
  return out.exitCode || (exported ? 0 : 1);
}
