import { KEYSTONE_URL, LabAdmin, REGION } from "../os-admin.ts";
import { LabError, sleep } from "../procs.ts";
import { type LabSecrets, type LabState, writeSecretFile, writeState } from "../state.ts";
import { data, dbUrl, ensureProcess, etc, httpUp, PORTS, run, serve } from "./common.ts";

export async function ensureKeystone(state: LabState, s: LabSecrets): Promise<void> {
  const conf = etc("keystone.conf");
  // NOTE: uncached, token requests and validations cost Keystone much of a 2-core lab's CPU (docs/lab.md); one
  // process, so an in-process cache stands in for a deployment's memcached. bcrypt's default 12 rounds slow every
  // login: the lab's passwords are random 24-character secrets.
  writeSecretFile(
    conf,
    `[DEFAULT]
use_stderr = true
[database]
connection = ${dbUrl(s, "keystone", "keystone")}
[identity]
password_hash_rounds = 4
[cache]
enabled = true
backend = dogpile.cache.memory
[token]
provider = fernet
expiration = 3600
[fernet_tokens]
key_repository = ${data("keystone", "fernet-keys")}
[credential]
key_repository = ${data("keystone", "credential-keys")}
`,
  );
  const env = { OS_KEYSTONE_CONFIG_FILES: conf };
  if (!state.done.includes("keystone:bootstrap")) {
    await run("keystone", "keystone-manage", ["--config-file", conf, "db_sync"]);
    for (const setup of ["fernet_setup", "credential_setup"]) {
      await run("keystone", "keystone-manage", ["--config-file", conf, setup, "--keystone-user", "root", "--keystone-group", "root"]);
    }
    await run("keystone", "keystone-manage", [
      "--config-file",
      conf,
      "bootstrap",
      "--bootstrap-password",
      s.admin,
      "--bootstrap-admin-url",
      `${KEYSTONE_URL}/`,
      "--bootstrap-internal-url",
      `${KEYSTONE_URL}/`,
      "--bootstrap-public-url",
      `${KEYSTONE_URL}/`,
      "--bootstrap-region-id",
      REGION,
    ]);
    state.done.push("keystone:bootstrap");
    writeState(state);
  }
  await ensureProcess(
    state,
    "keystone",
    serve("keystone.server.wsgi:initialize_public_application", PORTS.keystone),
    () => httpUp(`${KEYSTONE_URL}`),
    "GET /v3",
    { env },
  );
}

const SERVICES: { name: string; type: string; user?: string; url: string }[] = [
  { name: "glance", type: "image", user: "glance", url: `http://127.0.0.1:${PORTS.glance}` },
  { name: "cinderv3", type: "volumev3", user: "cinder", url: `http://127.0.0.1:${PORTS.cinder}/v3/%(project_id)s` },
  { name: "cinder", type: "block-storage", url: `http://127.0.0.1:${PORTS.cinder}/v3/%(project_id)s` },
  { name: "nova", type: "compute", user: "nova", url: `http://127.0.0.1:${PORTS.nova}/v2.1` },
  { name: "placement", type: "placement", user: "placement", url: `http://127.0.0.1:${PORTS.placement}` },
  { name: "neutron", type: "network", user: "neutron", url: `http://127.0.0.1:${PORTS.neutron}` },
];

async function findOrCreate(admin: LabAdmin, coll: string, key: string, name: string, body: Record<string, unknown>): Promise<string> {
  const list = await admin.expect([200], "GET", `${KEYSTONE_URL}/${coll}?name=${encodeURIComponent(name)}`);
  const found = (list[coll] as { id: string; name: string }[]).find((x) => x.name === name);
  if (found) return found.id;
  const created = await admin.expect([201], "POST", `${KEYSTONE_URL}/${coll}`, { [key]: { name, ...body } });
  return created[key].id;
}

export const MEMBER_USER = "dcnv-member";
export const MEMBER_PROJECT = "dcnv-demo";

/** A user with only the member role, in a project of its own: what the policy checks run as. */
export async function ensureMemberUser(state: LabState, s: LabSecrets): Promise<void> {
  if (state.done.includes("keystone:member")) return;
  const admin = new LabAdmin(s.admin);
  await admin.login();
  const project = await findOrCreate(admin, "projects", "project", MEMBER_PROJECT, {
    domain_id: "default",
    description: "dcn-verify policy checks",
  });
  const role = await findOrCreate(admin, "roles", "role", "member", {});
  const user = await findOrCreate(admin, "users", "user", MEMBER_USER, { domain_id: "default", password: s.member });
  await admin.expect([200, 204], "PATCH", `${KEYSTONE_URL}/users/${user}`, { user: { password: s.member } });
  await admin.expect([201, 204], "PUT", `${KEYSTONE_URL}/projects/${project}/users/${user}/roles/${role}`);
  state.done.push("keystone:member");
  writeState(state);
}

export async function registerCatalog(state: LabState, s: LabSecrets): Promise<void> {
  if (state.done.includes("keystone:catalog")) return;
  const admin = new LabAdmin(s.admin);
  await admin.login();
  const project = await findOrCreate(admin, "projects", "project", "service", { domain_id: "default", description: "services" });
  const adminRole = await findOrCreate(admin, "roles", "role", "admin", {});
  const serviceRole = await findOrCreate(admin, "roles", "role", "service", {});
  for (const svc of SERVICES) {
    if (svc.user) {
      const user = await findOrCreate(admin, "users", "user", svc.user, { domain_id: "default", password: s.services[svc.user] });
      await admin.expect([200, 204], "PATCH", `${KEYSTONE_URL}/users/${user}`, { user: { password: s.services[svc.user] } });
      for (const role of [adminRole, serviceRole])
        await admin.expect([201, 204], "PUT", `${KEYSTONE_URL}/projects/${project}/users/${user}/roles/${role}`);
    }
    const serviceId = await findOrCreate(admin, "services", "service", svc.name, { type: svc.type, enabled: true });
    const existing = await admin.expect([200], "GET", `${KEYSTONE_URL}/endpoints?service_id=${serviceId}`);
    for (const iface of ["public", "internal", "admin"]) {
      if ((existing.endpoints as { interface: string }[]).some((e) => e.interface === iface)) continue;
      // NOTE: creating an endpoint right after its service can race; retry.
      for (let attempt = 0; ; attempt++) {
        const r = await admin.request("POST", `${KEYSTONE_URL}/endpoints`, {
          endpoint: { service_id: serviceId, interface: iface, url: svc.url, region_id: REGION },
        });
        if (r.status === 201) break;
        if (attempt >= 5) throw new LabError(`keystone: endpoint ${svc.name}/${iface}: HTTP ${r.status}`, "keystone");
        await sleep(500);
      }
    }
  }
  state.done.push("keystone:catalog");
  writeState(state);
}
