import { createHmac } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { execa, type ResultPromise } from "execa";
import type { CephTransport } from "../../config/schema.ts";
import { redactSecrets } from "../readonly.ts";

export type TransportKind = CephTransport["kind"];
export type TransportOf<K extends TransportKind> = Extract<CephTransport, { kind: K }>;
export type SshTransport = TransportOf<"ssh">;
export type CephadmTransport = TransportOf<"cephadm">;
export type ContainerTransport = TransportOf<"container">;
/** Where ssh goes and how it checks the host: the fields the ssh and cephadm transports share. */
export type SshTarget = Pick<SshTransport, "host" | "user" | "port" | "identityFile" | "jumpHost" | "hostKeyChecking" | "knownHostsFile">;

/** What a transport needs to know of its site. */
export interface TransportSite<T extends CephTransport = CephTransport> {
  name: string;
  ceph: { cluster: string; transport: T; user?: string; conf?: string; keyring?: string; fsid?: string };
}

export interface Sinks {
  /** When given, stdout goes here instead of being collected. */
  onStdout?: (chunk: Buffer) => void;
  signal: AbortSignal;
}

export interface Raw {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Runs an `rbd`/`ceph` argv (client options already in place) where the site's Ceph is. */
export interface Transport {
  /** The command line as an operator would type it, for report evidence. */
  command(argv: string[], signal: AbortSignal): Promise<string>;
  exec(argv: string[], sinks: Sinks): Promise<Raw>;
  close(): Promise<void>;
}

/** What rbd and ceph see where a transport runs them, which decides the client options they are given. */
export interface ClientView {
  /**
   * `--cluster <cluster>`. False where the view holds only ceph.conf and ceph.keyring (a cephadm shell, a cephadm
   * container): there `--cluster dcn0` looks for /etc/ceph/dcn0.conf and fails.
   */
  cluster: boolean;
  /** ceph.conf and ceph.keyring as `--conf`/`--keyring`; false where the transport hands them to something else. */
  files: boolean;
  /** The conf read when ceph.conf is not given. */
  conf?: string;
}

export interface OpenOptions {
  /** How long ssh waits for a connection. */
  connectTimeoutS: number;
}

/** One kind of transport: what its view gives rbd and ceph, and how it is opened. */
export interface TransportDef<K extends TransportKind> {
  view(site: TransportSite<TransportOf<K>>): ClientView;
  open(site: TransportSite<TransportOf<K>>, o: OpenOptions): Transport;
}

/** `--cluster`, `--id`, `--conf` and `--keyring` as the site's config and the transport's view give them. */
export function clientArgsIn(site: TransportSite, view: ClientView): string[] {
  const { cluster, user, keyring } = site.ceph;
  const conf = view.files ? (site.ceph.conf ?? view.conf) : undefined;
  return [
    ...(view.cluster ? ["--cluster", cluster] : []),
    ...(user ? ["--id", user] : []),
    ...(conf ? ["--conf", conf] : []),
    ...(view.files && keyring ? ["--keyring", keyring] : []),
  ];
}

/** A prefix that runs `cephadm … shell`: inside, /etc/ceph holds only ceph.conf and ceph.keyring. */
export const isCephadmShell = (prefix: string[]) => {
  const at = prefix.findIndex((w) => basename(w) === "cephadm");
  return at >= 0 && prefix.includes("shell", at + 1);
};

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;
export const shellQuote = (arg: string) => (SAFE.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`);
export const shellJoin = (argv: string[]) => argv.map(shellQuote).join(" ");

/** Fills {fsid}, {cluster} and {host} in a prefix; host is asked for only when a word needs it. */
export async function expandPrefix(prefix: string[], site: TransportSite, host: () => Promise<string>): Promise<string[]> {
  const needsHost = prefix.some((a) => a.includes("{host}"));
  const vars: Record<string, string> = { cluster: site.ceph.cluster, fsid: site.ceph.fsid ?? "", host: needsHost ? await host() : "" };
  return prefix.map((a) => a.replace(/\{(fsid|cluster|host)\}/g, (_, k: string) => vars[k]!));
}

export async function execaRun(file: string, args: string[], sinks: Sinks): Promise<Raw> {
  const sub = execa(file, args, { buffer: false, reject: false, stdin: "ignore", cancelSignal: sinks.signal, forceKillAfterDelay: 2000 });
  const out = new Collector(sinks.onStdout);
  const err = new Collector();
  sub.stdout.on("data", out.push);
  sub.stderr.on("data", err.push);
  const r = await sub;
  const stderr = err.text() + (r.exitCode === undefined && !r.isCanceled ? `${r.originalMessage || r.shortMessage}\n` : "");
  return { stdout: out.text(), stderr, exitCode: r.exitCode ?? 127 };
}

export class Collector {
  private chunks: Buffer[] = [];
  constructor(private readonly onChunk?: (chunk: Buffer) => void) {}
  push = (chunk: Buffer) => (this.onChunk ? this.onChunk(chunk) : this.chunks.push(chunk));
  text = () => Buffer.concat(this.chunks).toString("utf8");
}

/**
 * Splits Docker's multiplexed exec stream (8-byte headers: stream type, then the frame's length) into stdout and
 * stderr. NOTE: each payload is handed on as a view of the chunk it arrived in; dockerode's demuxStream copied every
 * chunk into a growing buffer first, which cost more CPU than hashing the gigabyte of an rbd export it carried.
 */
export function dockerDemuxer(onStdout: (chunk: Buffer) => void, onStderr: (chunk: Buffer) => void): (chunk: Buffer) => void {
  const header = Buffer.alloc(8);
  let headerFill = 0;
  let left = 0;
  let to = onStdout;
  return (chunk) => {
    let at = 0;
    while (at < chunk.length) {
      if (left === 0) {
        const n = Math.min(8 - headerFill, chunk.length - at);
        chunk.copy(header, headerFill, at, at + n);
        headerFill += n;
        at += n;
        if (headerFill < 8) return;
        headerFill = 0;
        const kind = header.readUInt8(0);
        if (kind !== 1 && kind !== 2) throw new Error(`the container engine's exec stream is not multiplexed (stream type ${kind})`);
        to = kind === 2 ? onStderr : onStdout;
        left = header.readUInt32BE(4);
        continue;
      }
      const n = Math.min(left, chunk.length - at);
      to(chunk.subarray(at, at + n));
      left -= n;
      at += n;
    }
  };
}

/** Memoises a promise, forgetting it when it fails so the next call tries again. */
export function once<T>(make: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () =>
    (p ??= make().catch((e: unknown) => {
      p = undefined;
      throw e;
    }));
}

/** Runs at most n of the given tasks at once, the rest in the order they came. */
function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const queue: (() => void)[] = [];
  return async (task) => {
    if (running >= n) await new Promise<void>((r) => queue.push(r));
    running++;
    try {
      return await task();
    } finally {
      running--;
      queue.shift()?.();
    }
  };
}

const SSH_TARGET = "dcnv-target";
const SSH_JUMP = "dcnv-jump";
/** sshd's default MaxSessions is 10 per connection; a few are left for an operator's own multiplexed sessions. */
const MAX_SESSIONS = 8;

/** The ssh_config of one site's connection: the target, its jump host, the key checks, and the shared master connection. */
export function sshConfig(t: SshTarget, o: { controlPath: string; connectTimeoutS: number }): string {
  const q = (v: string) => (/[\s"#]/.test(v) ? `"${v.replaceAll('"', "")}"` : v);
  const policy = t.hostKeyChecking ?? "strict";
  const keys =
    policy === "off"
      ? ["StrictHostKeyChecking no", "UserKnownHostsFile /dev/null", "GlobalKnownHostsFile /dev/null"]
      : [
          `StrictHostKeyChecking ${policy === "strict" ? "yes" : "accept-new"}`,
          ...(t.knownHostsFile ? [`UserKnownHostsFile ${q(t.knownHostsFile)}`] : []),
        ];
  const common = ["BatchMode yes", `ConnectTimeout ${o.connectTimeoutS}`, "LogLevel ERROR", "CheckHostIP no", ...keys];
  const identity = (file?: string) => (file ? [`IdentityFile ${q(file)}`, "IdentitiesOnly yes"] : []);
  const block = (alias: string, lines: string[]) => [`Host ${alias}`, ...lines.map((l) => `  ${l}`)].join("\n");
  const j = t.jumpHost;
  return [
    block(SSH_TARGET, [
      `HostName ${t.host}`,
      ...(t.user ? [`User ${q(t.user)}`] : []),
      ...(t.port ? [`Port ${t.port}`] : []),
      ...identity(t.identityFile),
      ...(j ? [`ProxyJump ${SSH_JUMP}`] : []),
      // NOTE: commands join the master the transport starts; a command whose master went away connects on its own instead of failing.
      "ControlMaster no",
      `ControlPath ${q(o.controlPath)}`,
      "ServerAliveInterval 15",
      "ServerAliveCountMax 3",
      ...common,
    ]),
    ...(j
      ? [
          block(SSH_JUMP, [
            `HostName ${j.host}`,
            ...(j.user ? [`User ${q(j.user)}`] : []),
            ...(j.port ? [`Port ${j.port}`] : []),
            ...identity(("identityFile" in j ? j.identityFile : undefined) ?? t.identityFile),
            ...common,
          ]),
        ]
      : []),
    "",
  ].join("\n");
}

/** How the ssh command reads to an operator: the same target, jump host and key, as one ssh line. */
export function sshDisplay(t: SshTarget, remote: string): string {
  const j = t.jumpHost;
  const jump = j ? ["-J", `${j.user ? `${j.user}@` : ""}${j.host}${j.port ? `:${j.port}` : ""}`] : [];
  const args = [...jump, ...(t.port ? ["-p", String(t.port)] : []), ...(t.identityFile ? ["-i", t.identityFile] : [])];
  return `ssh ${shellJoin([...args, t.user ? `${t.user}@${t.host}` : t.host])} ${shellQuote(remote)}`;
}

/** One site's ssh connection: remote commands over it, the target's short host name, and its end. */
export interface SshConnection {
  run(remote: string, sinks: Sinks): Promise<Raw>;
  /** `hostname -s` on the target, asked once. */
  host(): Promise<string>;
  close(): Promise<void>;
}

/**
 * One OpenSSH connection per site, shared by every command (ControlMaster), in a private directory
 * that holds its ssh_config and control socket; close() ends the connection and removes the directory.
 */
export function sshConnection(t: SshTarget, connectTimeoutS: number): SshConnection {
  const dir = mkdtempSync(join(tmpdir(), "dcnv-ssh-"));
  const config = join(dir, "ssh_config");
  const controlPath = join(dir, "control");
  writeFileSync(config, sshConfig(t, { controlPath, connectTimeoutS }), { mode: 0o600 });
  let master: { sub: ResultPromise; ready: Promise<void>; exited: boolean; failed: boolean } | undefined;
  let closed = false;

  const startMaster = (signal: AbortSignal) => {
    rmSync(controlPath, { force: true });
    const sub = execa("ssh", ["-F", config, "-M", "-N", "-o", "ControlPersist=no", SSH_TARGET], {
      stdin: "ignore",
      stdout: "ignore",
      reject: false,
      forceKillAfterDelay: 2000,
    });
    const m = { sub, exited: false, failed: false, ready: Promise.resolve() };
    const ended = sub.then((r) => {
      m.exited = true;
      return r;
    });
    m.ready = new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        if (existsSync(controlPath)) finish();
        else if (signal.aborted) finish(signal.reason);
      }, 25);
      const finish = (e?: unknown) => {
        clearInterval(poll);
        if (!e) return resolve();
        m.failed = true;
        sub.kill();
        reject(e);
      };
      void ended.then((r) => {
        const why = redactSecrets(String(r.stderr ?? "").trim()) || r.shortMessage;
        finish(new Error(`ssh connection to ${t.host}${t.jumpHost ? ` through ${t.jumpHost.host}` : ""} ended: ${why}`));
      });
    });
    return m;
  };
  const connect = (signal: AbortSignal) => {
    if (closed) throw new Error("ssh transport is closed");
    const m = master;
    if (!m || m.exited || m.failed || m.sub.exitCode !== null || m.sub.signalCode !== null) master = startMaster(signal);
    return master!.ready;
  };
  const sessions = limiter(MAX_SESSIONS);
  const run = async (remote: string, sinks: Sinks) => {
    await connect(sinks.signal);
    return sessions(() => execaRun("ssh", ["-F", config, SSH_TARGET, "--", remote], sinks));
  };
  const host = once(async () => {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new Error(`\`hostname -s\` on ${t.host} did not answer`)), connectTimeoutS * 1000 + 10_000);
    try {
      const r = await run("hostname -s", { signal: ac.signal });
      const name = r.stdout.trim();
      if (r.exitCode !== 0 || !name)
        throw new Error(`\`hostname -s\` on ${t.host} exited ${r.exitCode}: ${redactSecrets(r.stderr.trim())}`);
      return name;
    } finally {
      clearTimeout(timer);
    }
  });
  return {
    run,
    host,
    close: async () => {
      closed = true;
      const m = master;
      if (m && !m.exited) {
        await execa("ssh", ["-F", config, "-O", "exit", SSH_TARGET], { reject: false, timeout: 5000 });
        const gone = await Promise.race([m.sub.then(() => true), new Promise((r) => setTimeout(() => r(false), 3000))]);
        if (!gone) m.sub.kill("SIGKILL");
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A host's entries in a known_hosts file, hashed (`|1|salt|hash`) or plain, as `[host]:port` off port 22. */
export function knownHostKeys(text: string, host: string, port: number): { type: string; key: string }[] {
  const name = port === 22 ? host : `[${host}]:${port}`;
  const matches = (pattern: string) => {
    const hashed = /^\|1\|([^|]+)\|(.+)$/.exec(pattern);
    if (hashed) return createHmac("sha1", Buffer.from(hashed[1]!, "base64")).update(name).digest("base64") === hashed[2];
    return pattern.split(",").includes(name);
  };
  return text.split("\n").flatMap((line) => {
    const [pattern, type, key] = line.trim().split(/\s+/);
    return pattern && type && key && !pattern.startsWith("#") && !pattern.startsWith("@") && matches(pattern) ? [{ type, key }] : [];
  });
}
