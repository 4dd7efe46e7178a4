import { loadRun, RunRecordError } from "../helpers/harness/run-record.ts";
import { DiffError, diffRuns, formatDiff, type RunDiff } from "../helpers/ops/diff.ts";
import { parseCommand } from "./args.ts";

const USAGE = `usage: dcn-verify diff <runA> <runB> [--reports DIR] [--json]
  Compares two runs of the same cloud (before and after an upgrade, say): per site, which tests are new, fixed,
  regressed or still failing, and how their durations changed. A run is a run id under the reports folder
  (--reports, default ./reports) or the path of a run's folder. Exits 1 when a test regressed.`;

export async function diffCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, { reports: { type: "string" }, json: { type: "boolean" } }, USAGE, 2);
  if (typeof parsed === "number") return parsed;
  if (parsed.positionals.length !== 2) {
    process.stderr.write(`dcn-verify diff: give two runs (got ${parsed.positionals.length})\n${USAGE}\n`);
    return 2;
  }
  let d: RunDiff;
  try {
    const root = parsed.values.reports ?? "reports";
    d = diffRuns(loadRun(parsed.positionals[0]!, root), loadRun(parsed.positionals[1]!, root));
  } catch (e) {
    if (!(e instanceof DiffError || e instanceof RunRecordError)) throw e;
    process.stderr.write(`dcn-verify diff: ${e.message}\n`);
    return 2;
  }
  process.stdout.write(parsed.values.json ? `${JSON.stringify(d, null, 2)}\n` : `${formatDiff(d)}\n`);
  return d.regressions > 0 ? 1 : 0;
}
