import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { LabError, portOpen, waitUntil } from "../procs.ts";
import { type LabSecrets, type LabState, paths, writeState } from "../state.ts";
import { data, ensureProcess, etc } from "./common.ts";

function rabbitEnv(): Record<string, string> {
  const base = data("rabbitmq");
  return {
    HOME: base,
    RABBITMQ_NODENAME: "rabbit@localhost",
    RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1",
    RABBITMQ_NODE_PORT: "5672",
    RABBITMQ_DIST_PORT: "25672",
    RABBITMQ_MNESIA_BASE: join(base, "mnesia"),
    RABBITMQ_LOG_BASE: join(paths().logs, "rabbitmq"),
    RABBITMQ_CONFIG_FILE: etc("rabbitmq"),
    RABBITMQ_ENABLED_PLUGINS_FILE: etc("rabbitmq-enabled-plugins"),
    RABBITMQ_PID_FILE: join(paths().run, "rabbitmq.pid"),
    ERL_EPMD_ADDRESS: "127.0.0.1",
    ERL_EPMD_PORT: "4369",
    RABBITMQ_ALLOW_INPUT: "",
  };
}

async function rabbitctl(...args: string[]) {
  return execa("/usr/lib/rabbitmq/bin/rabbitmqctl", args, { env: rabbitEnv(), reject: false, timeout: 60000 });
}

export async function ensureRabbit(state: LabState, s: LabSecrets): Promise<void> {
  writeFileSync(etc("rabbitmq.conf"), "listeners.tcp.default = 127.0.0.1:5672\nloopback_users = none\n");
  writeFileSync(etc("rabbitmq-enabled-plugins"), "[].\n");
  await ensureProcess(state, "epmd", ["epmd", "-address", "127.0.0.1", "-port", "4369"], () => portOpen(4369), "port 4369");
  await ensureProcess(state, "rabbitmq", ["/usr/lib/rabbitmq/bin/rabbitmq-server"], () => portOpen(5672), "port 5672", {
    env: rabbitEnv(),
    timeoutMs: 120000,
  });
  if (!state.done.includes("rabbit:user")) {
    await waitUntil("rabbitmq", "rabbitmqctl status", async () => (await rabbitctl("status")).exitCode === 0, 60000);
    const add = await rabbitctl("add_user", "openstack", s.rabbit);
    if (add.exitCode !== 0 && !/already exists/.test(add.stderr))
      throw new LabError(`rabbitmq: add_user failed: ${add.stderr}`, "rabbitmq");
    const perm = await rabbitctl("set_permissions", "openstack", ".*", ".*", ".*");
    if (perm.exitCode !== 0) throw new LabError(`rabbitmq: set_permissions failed: ${perm.stderr}`, "rabbitmq");
    state.done.push("rabbit:user");
    writeState(state);
  }
}
