import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Clients, openClients } from "../helpers/clients/index.ts";
import { loadConfig } from "../helpers/config/load.ts";
import type { Config } from "../helpers/config/schema.ts";
import { redactText } from "../helpers/core/redact.ts";
import { RUN_ID, RUN_PROPERTY } from "../helpers/harness/naming.ts";
import { formatRbdLeftover } from "../helpers/harness/rbd-leftovers.ts";
import { deleteLeftovers, findLeftovers, journalEntries, regionalClients } from "../helpers/ops/leftovers.ts";
import { configPathOf, parseCommand, useOverlay } from "./args.ts";

const USAGE = `usage: dcn-verify cleanup (--run-id ID | --all-runs) [--dry-run] [--config FILE] [--reports DIR]
  Finds what earlier runs left behind in Nova, Cinder and Glance: what the runs' journals (<reports>/<run id>/
  resources.jsonl) list, and what carries a run id in the names the harness gives (<prefix>-<run id>-<site>-<what>).
  It deletes only what proves it is the run's: the run id in its name, a configured site, and the mark
  ${RUN_PROPERTY}=<that run id> in its image properties or metadata; a look-alike is listed as not ours and left
  alone. Order: servers, then backups, snapshots, volumes and images. Then it lists any rbd image in each site's
  Ceph still named after what is gone (reported; the probe only reads).
  --dry-run lists what would be deleted and deletes nothing.`;

export async function cleanupCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(
    argv,
    {
      "run-id": { type: "string" },
      "all-runs": { type: "boolean" },
      "dry-run": { type: "boolean" },
      config: { type: "string" },
      overlay: { type: "string" },
      reports: { type: "string" },
    },
    USAGE,
  );
  if (typeof parsed === "number") return parsed;
  const args = parsed.values;
  const runId = args["run-id"];
  if (Boolean(runId) === Boolean(args["all-runs"])) {
    process.stderr.write(`dcn-verify cleanup: give exactly one of --run-id ID or --all-runs\n${USAGE}\n`);
    return 2;
  }
  if (runId && !RUN_ID.test(runId)) {
    process.stderr.write(`dcn-verify cleanup: --run-id '${runId}' is not a run id (like 20261123t144905-116f)\n`);
    return 2;
  }
  let cfg: Config;
  try {
    useOverlay(args.overlay);
    cfg = await loadConfig(configPathOf(args.config));
  } catch (e) {
    process.stderr.write(`dcn-verify cleanup: ${redactText((e as Error).message)}\n`);
    return 2;
  }
  const reportsRoot = resolve(args.reports ?? cfg.reportsDir);
  let clients: Clients;
  try {
    clients = await openClients(cfg);
  } catch (e) {
    process.stderr.write(`dcn-verify cleanup: cannot reach the cloud: ${redactText((e as Error).message)}\n`);
    return 1;
  }
  let regional: Awaited<ReturnType<typeof regionalClients>>;
  try {
    regional = await regionalClients(cfg, clients);
  } catch (e) {
    process.stderr.write(`dcn-verify cleanup: cannot reach a site's region: ${redactText((e as Error).message)}\n`);
    return 1;
  }
  const journal = journalEntries(reportsRoot, runId);
  const { ours: leftovers, notOurs, listed } = await findLeftovers(clients, cfg, { runId, journal, regions: regional.regions });
  if (runId && leftovers.length === 0 && notOurs.length === 0 && !existsSync(join(reportsRoot, runId))) {
    process.stderr.write(
      `dcn-verify cleanup: run ${runId} does not exist: nothing in the cloud carries its id and there is no ${join(reportsRoot, runId)}\n`,
    );
    return 2;
  }
  const scope = runId ? `run ${runId}` : "all runs";
  if (leftovers.length === 0) process.stdout.write(`nothing left behind by ${scope}\n`);
  for (const r of leftovers)
    process.stdout.write(`${args["dry-run"] ? "would delete" : "found"} ${r.kind} ${r.name} (${r.id}) [run ${r.runId}]\n`);
  for (const r of notOurs) process.stdout.write(`not ours, left alone: ${r.kind} ${r.name} (${r.id}) [run ${r.runId}]: ${r.reason}\n`);
  if (args["dry-run"]) return 0;
  const gone = [...journal.values()].filter((r) => !listed.has(r.id));
  const out = await deleteLeftovers(regional.clientsOf, cfg, leftovers, (l) => process.stdout.write(`${l}\n`), gone);
  for (const r of out.rbdLeft) process.stdout.write(`${formatRbdLeftover(r)}\n`);
  process.stdout.write(
    `${scope}: deleted ${out.deleted.length}, failed ${out.failed.length}, rbd images left ${out.rbdLeft.length}, not ours ${notOurs.length}\n`,
  );
  return out.failed.length || out.rbdLeft.length ? 1 : 0;
}
