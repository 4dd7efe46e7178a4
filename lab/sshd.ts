import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { execa } from "execa";

export const SSHD = "/usr/sbin/sshd";

export interface SshdOptions {
  /** Its own directory (under the lab's state dir, e.g. .lab/sshd/<name>): host key, client key, authorized_keys, config, log. */
  stateDir: string;
  /** 0 (the default) picks a free port on 127.0.0.1. */
  port?: number;
  /** The user the authorized key logs in as; root by default (the lab runs as root). */
  user?: string;
  /** Variables set in every session (sshd's SetEnv). */
  env?: Record<string, string>;
  /** What every session of the authorized key runs, whatever the client asks (authorized_keys `command=`). */
  forcedCommand?: string;
  /**
   * Where the authorized key goes instead of stateDir: sshd reads it as the user, so for a user other than
   * root it must be a file that user owns (the caller chowns it).
   */
  authorizedKeysFile?: string;
}

/** What a client needs to reach the sshd, with its keys checked. */
export interface SshdEndpoint {
  host: "127.0.0.1";
  port: number;
  user: string;
  /** `SHA256:...` of its ed25519 host key, as ssh-keygen -l prints it. */
  hostKeyFingerprint: string;
  /** The private key authorized_keys lets in (0600). */
  identityFile: string;
  /** A known_hosts file with the host key under `[127.0.0.1]:<port>`. */
  knownHostsFile: string;
  /** Where sshd logs (LogLevel VERBOSE: one "Accepted publickey" line per connection). */
  logFile: string;
}

export interface Sshd extends SshdEndpoint {
  pid: number;
  /** Connections sshd has accepted so far (its "Accepted publickey" lines). */
  connections(): number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolvePort(port));
    });
  });
}

async function keygen(file: string, comment: string): Promise<void> {
  if (existsSync(file)) return;
  await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
}

/**
 * Writes an sshd's keys and config under stateDir (keys are made once and kept) and returns the
 * argv that runs it in the foreground: for a caller that supervises the process itself (the lab's
 * startProcess). Never touches the machine's own /etc/ssh or ~/.ssh.
 */
export async function prepareSshd(o: SshdOptions): Promise<{ argv: string[]; endpoint: SshdEndpoint }> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: install Debian's openssh-server (apt-get install -y openssh-server)`);
  const dir = resolve(o.stateDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const user = o.user ?? "root";
  const port = o.port || (await freePort());
  const hostKey = join(dir, "ssh_host_ed25519_key");
  const identityFile = join(dir, "id_ed25519");
  await keygen(hostKey, `dcn-verify lab sshd ${dir}`);
  await keygen(identityFile, "dcn-verify lab client");
  const hostPub = readFileSync(`${hostKey}.pub`, "utf8").trim().split(/\s+/);
  const authorized = o.authorizedKeysFile ?? join(dir, "authorized_keys");
  const forced = o.forcedCommand ? `command="${o.forcedCommand.replaceAll('"', '\\"')}",no-pty ` : "";
  writeFileSync(authorized, forced + readFileSync(`${identityFile}.pub`, "utf8"), { mode: 0o600 });
  const knownHostsFile = join(dir, "known_hosts");
  writeFileSync(knownHostsFile, `[127.0.0.1]:${port} ${hostPub[0]} ${hostPub[1]}\n`, { mode: 0o600 });
  const fp = await execa("ssh-keygen", ["-l", "-E", "sha256", "-f", `${hostKey}.pub`]);
  const hostKeyFingerprint = fp.stdout.split(/\s+/)[1]!;
  const logFile = join(dir, "sshd.log");
  const config = join(dir, "sshd_config");
  writeFileSync(
    config,
    [
      "ListenAddress 127.0.0.1",
      `Port ${port}`,
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${authorized}`,
      `AllowUsers ${user}`,
      "PermitRootLogin prohibit-password",
      // NOTE: StrictModes refuses a key file under /tmp (world-writable); the state dir is 0700 and the files 0600.
      "StrictModes no",
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "AllowTcpForwarding yes",
      "X11Forwarding no",
      "PrintMotd no",
      // NOTE: every command of a site shares one connection; OpenSSH's default of 10 sessions per connection is what a field sshd has.
      "MaxSessions 10",
      "LogLevel VERBOSE",
      // NOTE: bash run by sshd reads ~/.bashrc for every command. This machine kind's root .bashrc runs `pyenv init`
      // (docs/lab.md); a field host's runs nothing for a command. The sessions get the state dir as HOME.
      ...Object.entries({ HOME: dir, ...o.env }).map(([k, v]) => `SetEnv ${k}="${v}"`),
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  // NOTE: sshd refuses to start without its privilege separation directory, which Debian's unit creates at boot.
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const check = await execa(SSHD, ["-t", "-f", config], { reject: false });
  if (check.exitCode !== 0) throw new Error(`sshd -t -f ${config} refused its config: ${check.stderr.trim()}`);
  return {
    argv: [SSHD, "-D", "-f", config, "-E", logFile],
    endpoint: { host: "127.0.0.1", port, user, hostKeyFingerprint, identityFile, knownHostsFile, logFile },
  };
}

export function acceptedConnections(logFile: string): number {
  return existsSync(logFile) ? (readFileSync(logFile, "utf8").match(/Accepted publickey for /g)?.length ?? 0) : 0;
}

async function listening(logFile: string, from: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const log = existsSync(logFile) ? readFileSync(logFile, "utf8").slice(from) : "";
    if (/Server listening on 127\.0\.0\.1/.test(log)) return;
    if (child.exitCode !== null)
      throw new Error(`sshd exited ${child.exitCode} before it listened: ${log.trim().split("\n").slice(-5).join("\n")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen within ${timeoutMs} ms (log ${logFile})`);
}

/** Starts a Debian OpenSSH server on loopback with its own host key and one authorized key; stop() ends it. */
export async function startSshd(o: SshdOptions): Promise<Sshd> {
  const { argv, endpoint } = await prepareSshd(o);
  const from = existsSync(endpoint.logFile) ? readFileSync(endpoint.logFile, "utf8").length : 0;
  const base = acceptedConnections(endpoint.logFile);
  const fd = openSync(endpoint.logFile, "a", 0o600);
  // A group of its own: stop() ends the listener and every connection it forked.
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", fd, fd], detached: true });
  closeSync(fd);
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  try {
    await listening(endpoint.logFile, from, child, 10_000);
  } catch (e) {
    child.kill("SIGKILL");
    throw e;
  }
  return {
    ...endpoint,
    pid: child.pid!,
    connections: () => acceptedConnections(endpoint.logFile) - base,
    stop: async () => {
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        /* already gone */
      }
      await exited;
    },
  };
}
