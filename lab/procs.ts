import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { type LabState, type ProcessRecord, paths, writeState } from "./state.ts";

export class LabError extends Error {
  constructor(
    message: string,
    readonly service?: string,
  ) {
    super(message);
  }
}

/** One line of the lab's progress, on stderr. */
export function log(msg: string): void {
  process.stderr.write(`lab: ${msg}\n`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function logPath(name: string): string {
  return join(paths().logs, `${name}.log`);
}

export function tail(file: string, lines = 30): string {
  if (!existsSync(file)) return `(no log at ${file})`;
  return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
}

/** True when the recorded pid still runs the recorded program (guards against pid reuse). */
export function isRunning(rec: ProcessRecord | undefined): boolean {
  if (!rec) return false;
  try {
    process.kill(rec.pid, 0);
  } catch {
    return false;
  }
  try {
    const cmdline = readFileSync(`/proc/${rec.pid}/cmdline`, "utf8");
    const stat = readFileSync(`/proc/${rec.pid}/stat`, "utf8");
    if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) return false;
    const want = rec.argv.find((a) => !a.startsWith("-") && !a.includes("=")) ?? rec.argv[0];
    return cmdline.includes(want.split("/").pop()!);
  } catch {
    return false;
  }
}

export interface StartOptions {
  env?: Record<string, string>;
  cwd?: string;
}

/** Starts a service detached, as its own process group leader, with output to its log. */
export function startProcess(state: LabState, name: string, argv: string[], opts: StartOptions = {}): ProcessRecord {
  const log = logPath(name);
  const fd = openSync(log, "a", 0o600);
  const child = spawn(argv[0], argv.slice(1), {
    detached: true,
    stdio: ["ignore", fd, fd],
    env: { ...process.env, ...opts.env },
    cwd: opts.cwd ?? paths().run,
  });
  closeSync(fd);
  child.unref();
  if (!child.pid) throw new LabError(`could not start ${name}: ${argv[0]}`, name);
  const rec: ProcessRecord = { pid: child.pid, pgid: child.pid, argv, log, startedAt: new Date().toISOString() };
  state.processes[name] = rec;
  writeState(state);
  return rec;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops a recorded service: SIGTERM to its process group, SIGKILL after the grace period. */
export async function stopProcess(state: LabState, name: string, graceMs = 15000): Promise<void> {
  const rec = state.processes[name];
  if (!rec) return;
  if (groupAlive(rec.pgid) && isRunning(rec)) {
    try {
      process.kill(-rec.pgid, "SIGTERM");
    } catch {
      /* already gone */
    }
    const deadline = Date.now() + graceMs;
    while (groupAlive(rec.pgid) && Date.now() < deadline) await sleep(100);
    if (groupAlive(rec.pgid)) {
      try {
        process.kill(-rec.pgid, "SIGKILL");
      } catch {
        /* already gone */
      }
      while (groupAlive(rec.pgid) && Date.now() < deadline + 5000) await sleep(100);
    }
  } else if (groupAlive(rec.pgid)) {
    // NOTE: the leader can exit (e.g. a wrapper script) while its group lives on.
    try {
      process.kill(-rec.pgid, "SIGTERM");
    } catch {
      /* gone */
    }
  }
  delete state.processes[name];
  writeState(state);
}

export function portOpen(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
    s.setTimeout(1000, () => {
      s.destroy();
      resolve(false);
    });
  });
}

/** Polls until ready() is true; fails naming the service, the wait and the tail of its log. */
export async function waitUntil(
  name: string,
  what: string,
  ready: () => Promise<boolean>,
  timeoutMs: number,
  rec?: ProcessRecord,
): Promise<void> {
  const start = Date.now();
  let lastError = "";
  while (Date.now() - start < timeoutMs) {
    try {
      if (await ready()) return;
    } catch (e) {
      lastError = (e as Error).message;
    }
    if (rec && !isRunning(rec)) {
      throw new LabError(`${name} exited while waiting for ${what}; last lines of ${rec.log}:\n${tail(rec.log)}`, name);
    }
    await sleep(250);
  }
  throw new LabError(
    `${name}: ${what} not reached after ${Math.round((Date.now() - start) / 1000)} s` +
      (lastError ? ` (last error: ${lastError})` : "") +
      (rec ? `; last lines of ${rec.log}:\n${tail(rec.log)}` : ""),
    name,
  );
}
