/** What the lab's OpenStack services share: ports, report intervals, config sections, running a command, a process. */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { REGION } from "../os-admin.ts";
import { isRunning, LabError, startProcess, stopProcess, waitUntil } from "../procs.ts";
import { type LabSecrets, type LabState, paths, REPO_ROOT } from "../state.ts";

/**
 * Cinder and Nova: how often a service reports, and after how long without a report it is down. Shorter than the
 * defaults (10 and 60 s) so that a lab fault that stops a service shows within seconds; four missed reports still
 * leave room for a busy two-core machine.
 */
export const REPORT_S = 3;
export const SERVICE_DOWN_S = 12;

export const PY_SERVE = join(REPO_ROOT, "lab", "wsgi_serve.py");
export const MYSQL_PORT = 3306;

export const PORTS = { keystone: 5000, glance: 9292, cinder: 8776, nova: 8774, placement: 8778, neutron: 9696 };

export function etc(name: string): string {
  return join(paths().etc, name);
}

export function data(...parts: string[]): string {
  const d = join(paths().data, ...parts);
  mkdirSync(d, { recursive: true, mode: 0o700 });
  return d;
}

export function dbUrl(s: LabSecrets, user: string, db: string): string {
  return `mysql+pymysql://${user}:${s.db[user]}@127.0.0.1:${MYSQL_PORT}/${db}?charset=utf8`;
}

export function rabbitUrl(s: LabSecrets): string {
  return `rabbit://openstack:${s.rabbit}@127.0.0.1:5672/`;
}

export function serviceAuth(section: string, s: LabSecrets, user: string, extra = ""): string {
  return `[${section}]
auth_type = password
auth_url = http://127.0.0.1:5000
project_domain_name = Default
user_domain_name = Default
project_name = service
username = ${user}
password = ${s.services[user]}
region_name = ${REGION}
${extra}`;
}

export function authtoken(s: LabSecrets, user: string): string {
  return serviceAuth("keystone_authtoken", s, user, "www_authenticate_uri = http://127.0.0.1:5000\nservice_token_roles_required = true\n");
}

export async function run(
  service: string,
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
  timeout = 300000,
): Promise<string> {
  const r = await execa(cmd, args, { reject: false, timeout, env, cwd: paths().run });
  if (r.exitCode !== 0) {
    const out = `${r.stdout}\n${r.stderr}`.trim().split("\n").slice(-25).join("\n");
    throw new LabError(`${service}: ${cmd} ${args.slice(0, 4).join(" ")}… failed (exit ${r.exitCode}):\n${out}`, service);
  }
  return r.stdout;
}

export async function httpUp(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return r.status < 500;
  } catch {
    return false;
  }
}

export async function ensureProcess(
  state: LabState,
  name: string,
  argv: string[],
  ready: () => Promise<boolean>,
  what: string,
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<void> {
  if (isRunning(state.processes[name]) && (await ready().catch(() => false))) return;
  if (state.processes[name]) await stopProcess(state, name);
  const rec = startProcess(state, name, argv, { env: opts.env });
  await waitUntil(name, what, ready, opts.timeoutMs ?? 120000, rec);
}

export function serve(app: string, port: number, extra: string[] = []): string[] {
  return ["/usr/bin/python3", PY_SERVE, "--host", "127.0.0.1", "--port", String(port), "--app", app, ...extra];
}

/** dbOnly: the config and the database migration, no process; nothing when the migration was done before. */
export interface DbOnly {
  dbOnly?: boolean;
}
