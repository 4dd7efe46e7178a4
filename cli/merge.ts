import "../suites/index.ts";
import { dirname, resolve } from "node:path";
import { formatOutcome } from "../helpers/ops/pipeline/publish.ts";
import { MergeError, mergeShards } from "../helpers/ops/merge.ts";
import { parseCommand } from "./args.ts";

const USAGE = `usage: dcn-verify merge <shard run dir> ... [--reports DIR]
  Joins the run directories of a sharded run (dcn-verify run --shard I/N --group ID, one per CI job) into one run
  directory under --reports (default: the folder of the first shard's run): each site's report, one summary.json,
  JUnit, the fleet page and the sites' history, as one unsharded run writes them. Every shard 1..N of the group
  must be given once. Exits 0 when every site passed and met its gates, 1 when not, 2 on bad input.`;

export async function mergeCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, { reports: { type: "string" } }, USAGE, Infinity);
  if (typeof parsed === "number") return parsed;
  if (!parsed.positionals.length) {
    process.stderr.write(`dcn-verify merge: give the run directories of the shards\n${USAGE}\n`);
    return 2;
  }
  try {
    const out = await mergeShards(parsed.positionals, parsed.values.reports ?? dirname(resolve(parsed.positionals[0]!)), (line) =>
      process.stderr.write(`dcn-verify merge: ${line}\n`),
    );
    process.stderr.write(
      `dcn-verify merge: ${out.summary.shards!.length} shard(s) of group ${out.summary.group} merged into ${out.runDir}\n`,
    );
    process.stdout.write(formatOutcome(out));
    return out.exitCode;
  } catch (e) {
    if (!(e instanceof MergeError)) throw e;
    process.stderr.write(`dcn-verify merge: ${e.message}\n`);
    return 2;
  }
}
