import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { LabError, logPath, portOpen } from "../procs.ts";
import { type LabSecrets, type LabState, paths, writeState } from "../state.ts";
import { ensureProcess, MYSQL_PORT, run } from "./common.ts";

function mysqlSocket(): string {
  return join(paths().run, "mysqld.sock");
}

export async function ensureMariadb(state: LabState, s: LabSecrets): Promise<void> {
  const datadir = join(paths().data, "mysql");
  if (!existsSync(join(datadir, "mysql"))) {
    mkdirSync(datadir, { recursive: true, mode: 0o700 });
    await run("mariadb", "mariadb-install-db", [
      "--no-defaults",
      "--user=root",
      `--datadir=${datadir}`,
      "--auth-root-authentication-method=socket",
      "--skip-test-db",
    ]);
  }
  await ensureProcess(
    state,
    "mariadb",
    [
      "mariadbd",
      "--no-defaults",
      "--user=root",
      `--datadir=${datadir}`,
      `--socket=${mysqlSocket()}`,
      "--bind-address=127.0.0.1",
      `--port=${MYSQL_PORT}`,
      `--pid-file=${join(paths().run, "mysqld.pid")}`,
      "--max-connections=2000",
      "--innodb-buffer-pool-size=128M",
      // NOTE: the lab's data lives no longer than its in-memory Ceph: a commit need not wait on the disk.
      "--innodb-flush-log-at-trx-commit=0",
      "--innodb-doublewrite=0",
      "--skip-name-resolve",
      "--character-set-server=utf8mb4",
      "--collation-server=utf8mb4_general_ci",
      `--log-error=${logPath("mariadb-error")}`,
    ],
    () => portOpen(MYSQL_PORT),
    "port 3306",
  );
  if (!state.done.includes("db:users")) {
    const sql = Object.entries(s.db).flatMap(([user, pw]) => {
      const dbs = user === "nova" ? ["nova", "nova_api", "nova_cell0"] : [user];
      return [
        ...dbs.map((db) => `CREATE DATABASE IF NOT EXISTS ${db};`),
        `CREATE USER IF NOT EXISTS '${user}'@'127.0.0.1' IDENTIFIED BY '${pw}';`,
        `ALTER USER '${user}'@'127.0.0.1' IDENTIFIED BY '${pw}';`,
        ...dbs.map((db) => `GRANT ALL PRIVILEGES ON ${db}.* TO '${user}'@'127.0.0.1';`),
      ];
    });
    const r = await execa("mariadb", [`--socket=${mysqlSocket()}`, "-u", "root"], { input: sql.join("\n"), reject: false });
    if (r.exitCode !== 0) throw new LabError(`mariadb: creating databases failed: ${r.stderr}`, "mariadb");
    state.done.push("db:users");
    writeState(state);
  }
}
