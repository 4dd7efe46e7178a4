import { join } from "node:path";
import { type LabSecrets, type LabState, writeSecretFile, writeState } from "../state.ts";
import { authtoken, data, dbUrl, type DbOnly, ensureProcess, httpUp, PORTS, run, serve } from "./common.ts";

export async function ensurePlacement(state: LabState, s: LabSecrets, o: DbOnly = {}): Promise<void> {
  if (o.dbOnly && state.done.includes("placement:db")) return;
  const dir = data("placement-etc");
  writeSecretFile(
    join(dir, "placement.conf"),
    `[DEFAULT]
use_stderr = true
[placement_database]
connection = ${dbUrl(s, "placement", "placement")}
[api]
auth_strategy = keystone
${authtoken(s, "placement")}`,
  );
  if (!state.done.includes("placement:db")) {
    await run("placement", "placement-manage", ["--config-file", join(dir, "placement.conf"), "db", "sync"]);
    state.done.push("placement:db");
    writeState(state);
  }
  if (o.dbOnly) return;
  await ensureProcess(
    state,
    "placement",
    serve("placement.wsgi:init_application", PORTS.placement),
    () => httpUp(`http://127.0.0.1:${PORTS.placement}/`),
    "GET /",
    {
      env: { OS_PLACEMENT_CONFIG_DIR: dir },
    },
  );
}
