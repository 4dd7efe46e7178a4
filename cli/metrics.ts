import "../suites/index.ts";
import { existsSync } from "node:fs";
import { loadConfig } from "../helpers/config/load.ts";
import { redactText } from "../helpers/core/redact.ts";
import { readRunSummary } from "../helpers/harness/run-record.ts";
import { buildMetrics, checkMetricsTargets, exportMetrics, metricsKind, runConfigPath, type SiteLabels } from "../helpers/ops/metrics.ts";
import { configPathOf, parseCommand } from "./args.ts";

const USAGE = `usage: dcn-verify metrics <run dir> [--config FILE] [--metrics-textfile PATH] [--pushgateway URL]
  Prints the results of a finished run (the directory of a 'dcn-verify run' or of a 'dcn-verify canary verify') in
  Prometheus's text format. A run exports, per site: dcn_verify_check_success{site,check,tier,availability_zone,store}
  (1 passed, warnings included; 0 failed or not verified; a check the run's tier left out is not exported),
  dcn_verify_check_duration_seconds{site,check,tier}, dcn_verify_checks{site,outcome}, dcn_verify_site_success{site,
  availability_zone}, dcn_verify_last_run_timestamp_seconds{site} and, for a site that passed,
  dcn_verify_last_success_timestamp_seconds{site}. A canary verify exports dcn_verify_canary_intact{site,canary},
  dcn_verify_canary_verify_success{site} and dcn_verify_canary_last_verify_timestamp_seconds{site}.
  The sites' AZs and stores come from the run's config: --config, else the one the run recorded in its run.json, else
  (a merged run has none) DCN_VERIFY_CONFIG or the embedded lab's.
  --metrics-textfile PATH writes them, atomically, to a .prom file for node_exporter's textfile collector, and
  --pushgateway URL pushes them to a Pushgateway (job dcn_verify, grouped by site), instead of printing them.
  Exit codes: 0 done; 1 the file or the push failed; 2 bad input (no such run directory, no summary.json).`;

export async function metricsCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(
    argv,
    { config: { type: "string" }, "metrics-textfile": { type: "string" }, pushgateway: { type: "string" } },
    USAGE,
    1,
  );
  if (typeof parsed === "number") return parsed;
  const args = parsed.values;
  const say = (line: string) => process.stderr.write(`dcn-verify metrics: ${line}\n`);
  const dir = parsed.positionals[0];
  if (dir === undefined) {
    process.stderr.write(`dcn-verify metrics: give a run's directory\n${USAGE}\n`);
    return 2;
  }
  let text: string;
  let cfg: SiteLabels | undefined;
  let targets;
  try {
    targets = checkMetricsTargets(args);
    const summary = readRunSummary(dir);
    if (metricsKind(summary) === "run") cfg = await configOf(dir, summary.overlay, args.config);
    text = await buildMetrics(summary, cfg);
    if (targets.textfile !== undefined || targets.pushgateway !== undefined)
      return (await exportMetrics(summary, cfg, targets, say)) ? 0 : 1;
  } catch (e) {
    say(redactText((e as Error).message));
    return 2;
  }
  process.stdout.write(text);
  return 0;
}

/** The run's config, for its sites' AZs and stores: --config, else run.json's, else DCN_VERIFY_CONFIG or the lab's. */
async function configOf(dir: string, overlay: string | undefined, given: string | undefined): Promise<SiteLabels> {
  const recorded = runConfigPath(dir);
  if (!given && recorded && !existsSync(recorded))
    throw new Error(`the run's config ${recorded} (its run.json) does not exist here: give it with --config`);
  const path = given ?? recorded ?? configPathOf(undefined);
  // NOTE: an overlay sets hosts, paths and fsids, never a site's AZ or store: the run's is laid over only when it is still there.
  return loadConfig(path, { env: {}, ...(overlay && existsSync(overlay) ? { overlay } : {}) });
}
