import { writeFileSync } from "node:fs";
import { LabAdmin } from "../os-admin.ts";
import { type LabSecrets, type LabState, writeSecretFile, writeState } from "../state.ts";
import { authtoken, data, dbUrl, type DbOnly, ensureProcess, etc, httpUp, PORTS, rabbitUrl, run } from "./common.ts";

export async function ensureNeutron(state: LabState, s: LabSecrets, o: DbOnly = {}): Promise<void> {
  if (o.dbOnly && state.done.includes("neutron:db")) return;
  const conf = etc("neutron.conf");
  const ml2 = etc("ml2_conf.ini");
  writeSecretFile(
    conf,
    `[DEFAULT]
use_stderr = true
core_plugin = ml2
service_plugins = router,port_forwarding
auth_strategy = keystone
bind_host = 127.0.0.1
bind_port = ${PORTS.neutron}
api_workers = 0
rpc_workers = 0
rpc_state_report_workers = 0
transport_url = ${rabbitUrl(s)}
notify_nova_on_port_status_changes = False
notify_nova_on_port_data_changes = False
state_path = ${data("neutron")}
[database]
connection = ${dbUrl(s, "neutron", "neutron")}
${authtoken(s, "neutron")}
[oslo_concurrency]
lock_path = ${data("neutron", "lock")}
`,
  );
  writeFileSync(
    ml2,
    `[ml2]
type_drivers = flat
tenant_network_types =
mechanism_drivers =
extension_drivers =
`,
  );
  if (!state.done.includes("neutron:db")) {
    await run("neutron", "neutron-db-manage", ["--config-file", conf, "--config-file", ml2, "upgrade", "heads"], {}, 600000);
    state.done.push("neutron:db");
    writeState(state);
  }
  if (o.dbOnly) return;
  await ensureProcess(
    state,
    "neutron",
    ["neutron-server", "--config-file", conf, "--config-file", ml2],
    () => httpUp(`http://127.0.0.1:${PORTS.neutron}/`),
    "GET /",
    { timeoutMs: 180000 },
  );
  // NOTE: neutron's get_ports reads the Port.port_forwardings backref, which SQLAlchemy adds only once
  // the mappers are configured by a first query; with no agents, a server show would be that first
  // query and fail with HTTP 500. One list of networks configures them.
  await new LabAdmin(s.admin).expect([200], "GET", `http://127.0.0.1:${PORTS.neutron}/v2.0/networks`);
}
