import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Clients, openClients } from "../helpers/clients/index.ts";
import { loadConfig } from "../helpers/config/load.ts";
import type { Config } from "../helpers/config/schema.ts";
import { redactText } from "../helpers/core/redact.ts";
import { RUN_ID } from "../helpers/harness/naming.ts";
import { deleteLeftovers, findLeftovers, journalIds } from "../helpers/ops/leftovers.ts";
import { configPathOf, parseCommand } from "./args.ts";

const USAGE = `usage: dcn-verify cleanup (--run-id ID | --all-runs) [--dry-run] [--config FILE] [--reports DIR]
  Finds what earlier runs left behind in Nova, Cinder and Glance, by the run id in the names the harness gives
  (<prefix>-<run id>-<site>-<what>), and deletes only that: servers, then snapshots, volumes and images.
  Then it lists any rbd image in each site's Ceph still named after them (reported; the probe only reads).
  --dry-run lists what would be deleted and deletes nothing.`;

export async function cleanupCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(
    argv,
    {
      "run-id": { type: "string" },
      "all-runs": { type: "boolean" },
      "dry-run": { type: "boolean" },
      config: { type: "string" },
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
  const leftovers = await findLeftovers(clients, cfg, { runId });
  if (runId && leftovers.length === 0 && !existsSync(join(reportsRoot, runId))) {
    process.stderr.write(
      `dcn-verify cleanup: run ${runId} does not exist: nothing in the cloud carries its id and there is no ${join(reportsRoot, runId)}\n`,
    );
    return 2;
  }
  const scope = runId ? `run ${runId}` : "all runs";
  if (leftovers.length === 0) process.stdout.write(`nothing left behind by ${scope}\n`);
  for (const r of leftovers)
    process.stdout.write(`${args["dry-run"] ? "would delete" : "found"} ${r.kind} ${r.name} (${r.id}) [run ${r.runId}]\n`);
  if (args["dry-run"]) return 0;
  const out = await deleteLeftovers(clients, cfg, leftovers, (l) => process.stdout.write(`${l}\n`), journalIds(reportsRoot, runId));
  for (const r of out.rbdLeft)
    process.stdout.write(
      `rbd image ${r.pool}/${r.image} is still in ${r.site}'s cluster: remove it with 'rbd --cluster ${r.site} rm ${r.pool}/${r.image}' once nothing uses it\n`,
    );
  process.stdout.write(`${scope}: deleted ${out.deleted.length}, failed ${out.failed.length}, rbd images left ${out.rbdLeft.length}\n`);
  return out.failed.length || out.rbdLeft.length ? 1 : 0;
}
