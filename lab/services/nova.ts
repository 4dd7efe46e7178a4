import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { REGION } from "../os-admin.ts";
import { isRunning, startProcess } from "../procs.ts";
import { type LabSecrets, type LabState, REPO_ROOT, writeSecretFile, writeState } from "../state.ts";
import {
  authtoken,
  data,
  dbUrl,
  ensureProcess,
  etc,
  httpUp,
  PORTS,
  rabbitUrl,
  REPORT_S,
  run,
  SERVICE_DOWN_S,
  serviceAuth,
} from "./common.ts";

const PY_COMPUTE = join(REPO_ROOT, "lab", "nova_compute.py");

function novaConf(s: LabSecrets): string {
  return `[DEFAULT]
use_stderr = true
transport_url = ${rabbitUrl(s)}
my_ip = 127.0.0.1
state_path = ${data("nova")}
compute_driver = fake.FakeDriver
enabled_apis = osapi_compute
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = ${PORTS.nova}
osapi_compute_workers = 1
service_down_time = ${SERVICE_DOWN_S}
report_interval = ${REPORT_S}
[api]
auth_strategy = keystone
[api_database]
connection = ${dbUrl(s, "nova", "nova_api")}
[database]
connection = ${dbUrl(s, "nova", "nova")}
${authtoken(s, "nova")}
${serviceAuth("placement", s, "placement")}
${serviceAuth("neutron", s, "neutron")}
${serviceAuth("service_user", s, "nova", "send_service_user_token = true\n")}
[cinder]
cross_az_attach = False
os_region_name = ${REGION}
[glance]
region_name = ${REGION}
[scheduler]
discover_hosts_in_cells_interval = -1
workers = 1
[conductor]
workers = 1
[wsgi]
api_paste_config = /etc/nova/api-paste.ini
[vnc]
enabled = False
[oslo_concurrency]
lock_path = ${data("nova", "lock")}
[oslo_policy]
policy_file = ${etc("nova-policy.yaml")}
`;
}

/**
 * Nova's policy overrides: none, or (fault host-hidden) the server's host and the AZs' host lists denied to
 * everyone, as a cloud whose policy keeps them from the harness's user. oslo.policy reloads the file when it changes.
 */
export function writeNovaPolicy(hostHidden: boolean): void {
  const rules = hostHidden
    ? ['"os_compute_api:os-extended-server-attributes": "!"', '"os_compute_api:os-availability-zone:detail": "!"']
    : [];
  writeFileSync(etc("nova-policy.yaml"), rules.length ? `${rules.join("\n")}\n` : "{}\n");
}

export function computeName(site: string): string {
  return `nova-compute-${site}`;
}

export function computeHost(site: string): string {
  return `compute-${site}`;
}

export function startCompute(state: LabState, site: string): void {
  const siteConf = etc(`nova-compute-${site}.conf`);
  writeFileSync(siteConf, `[DEFAULT]\nhost = ${computeHost(site)}\ninstances_path = ${data("nova", "instances", site)}\n`);
  if (isRunning(state.processes[computeName(site)])) return;
  startProcess(state, computeName(site), ["/usr/bin/python3", PY_COMPUTE, "--config-file", etc("nova.conf"), "--config-file", siteConf]);
}

export async function ensureNovaDb(state: LabState, s: LabSecrets): Promise<void> {
  const conf = etc("nova.conf");
  writeSecretFile(conf, novaConf(s));
  writeNovaPolicy(state.faults.some((f) => f.kind === "host-hidden"));
  if (state.done.includes("nova:db")) return;
  await run("nova", "nova-manage", ["--config-file", conf, "api_db", "sync"]);
  await run("nova", "nova-manage", [
    "--config-file",
    conf,
    "cell_v2",
    "map_cell0",
    "--database_connection",
    dbUrl(s, "nova", "nova_cell0"),
  ]);
  const cells = await run("nova", "nova-manage", ["--config-file", conf, "cell_v2", "list_cells"]);
  if (!/\bcell1\b/.test(cells)) await run("nova", "nova-manage", ["--config-file", conf, "cell_v2", "create_cell", "--name", "cell1"]);
  await run("nova", "nova-manage", ["--config-file", conf, "db", "sync"]);
  state.done.push("nova:db");
  writeState(state);
}

export async function ensureNova(state: LabState, s: LabSecrets, sites: string[], skipCompute: string[] = []): Promise<void> {
  const conf = etc("nova.conf");
  await ensureNovaDb(state, s);
  // NOTE: the conductor, the scheduler and the computes start while the API does: none of them calls it.
  if (!isRunning(state.processes["nova-conductor"])) startProcess(state, "nova-conductor", ["nova-conductor", "--config-file", conf]);
  if (!isRunning(state.processes["nova-scheduler"])) startProcess(state, "nova-scheduler", ["nova-scheduler", "--config-file", conf]);
  for (const site of sites) if (!skipCompute.includes(site)) startCompute(state, site);
  // NOTE: nova's API monkey-patches eventlet on import, so it runs under its own eventlet server, not a threaded one.
  await ensureProcess(state, "nova-api", ["nova-api", "--config-file", conf], () => httpUp(`http://127.0.0.1:${PORTS.nova}/`), "GET /");
}

export async function discoverHosts(): Promise<void> {
  await run("nova", "nova-manage", ["--config-file", etc("nova.conf"), "cell_v2", "discover_hosts"]);
}
