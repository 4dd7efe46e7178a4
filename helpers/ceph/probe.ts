import { join } from "node:path";
import { Writable } from "node:stream";
import Docker from "dockerode";
import { execa } from "execa";
import type { CephTransport } from "../config/schema.ts";
import { type HeadDigest, HeadDigestStream } from "../core/digest.ts";
import {
  type CephStatus,
  parseCephFsid,
  parseCephStatus,
  parseRbdChildren,
  parseRbdInfo,
  parseRbdList,
  parseRbdSnapshots,
  type RbdChild,
  type RbdEntry,
  type RbdInfo,
  type RbdSnapshot,
} from "./rbd.ts";
import { checkReadOnly, needsKeyStrip, redactSecrets, stripKeys } from "./readonly.ts";

export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** The command line as sent, for report evidence. */
  command: string;
}

export interface RunOptions {
  /** Resolve with the non-zero exit code instead of throwing. */
  reject?: boolean;
  timeoutMs?: number;
}

export interface CephProbe {
  readonly site: string;
  readonly cluster: string;
  readonly transport: CephTransport["kind"];
  /** argv starts with `rbd` or `ceph`; `--cluster` is added by the probe. */
  run(argv: string[], opts?: RunOptions): Promise<CommandResult>;
  fsid(): Promise<string>;
  status(): Promise<CephStatus>;
  health(): Promise<CephStatus["health"]>;
  rbdList(pool: string): Promise<RbdEntry[]>;
  rbdListText(pool: string): Promise<string>;
  rbdSnapshots(pool: string, image: string): Promise<RbdSnapshot[]>;
  rbdInfo(pool: string, image: string): Promise<RbdInfo>;
  /** COW children of `pool/image@snapshot`. */
  rbdChildren(pool: string, image: string, snapshot: string): Promise<RbdChild[]>;
  /**
   * sha512 of the first headBytes of `rbd export <spec> -`. With wholeImage, the rest is read too and
   * checked for zeros; without, the export stops once the head is read.
   */
  exportHead(spec: string, headBytes: number, opts?: { timeoutMs?: number; wholeImage?: boolean }): Promise<HeadDigest>;
  version(): Promise<string>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface ProbeSite {
  name: string;
  ceph: { cluster: string; transport: CephTransport; user?: string };
}

export interface ProbeOptions {
  /** Per-command limit; 60 s when not given. */
  timeoutMs?: number;
}

export class CephProbeError extends Error {
  constructor(
    message: string,
    readonly site: string,
    readonly transport: string,
    readonly command: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "CephProbeError";
  }
}

export class CephCommandError extends CephProbeError {
  constructor(
    site: string,
    transport: string,
    command: string,
    readonly exitCode: number,
    readonly stderrTail: string,
  ) {
    super(
      `ceph probe ${site} (${transport}): \`${command}\` exited ${exitCode}${stderrTail ? `: ${stderrTail}` : " with no stderr"}`,
      site,
      transport,
      command,
    );
    this.name = "CephCommandError";
  }
}

export class CephTimeoutError extends CephProbeError {
  constructor(
    site: string,
    transport: string,
    command: string,
    readonly timeoutMs: number,
  ) {
    super(`ceph probe ${site} (${transport}): \`${command}\` did not finish within ${timeoutMs} ms`, site, transport, command);
    this.name = "CephTimeoutError";
  }
}

interface Sinks {
  /** When given, stdout goes here instead of being collected. */
  onStdout?: (chunk: Buffer) => void;
  signal: AbortSignal;
}

interface Raw {
  stdout: string;
  stderr: string;
  exitCode: number;
}

interface Transport {
  command(argv: string[], signal: AbortSignal): Promise<string>;
  exec(argv: string[], sinks: Sinks): Promise<Raw>;
  close(): Promise<void>;
}

/** The reason a command is stopped once its reader has what it needs. */
const ENOUGH = new Error("enough");

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;
export const shellQuote = (arg: string) => (SAFE.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`);
const shellJoin = (argv: string[]) => argv.map(shellQuote).join(" ");

function tail(text: string, lines = 12, chars = 2000): string {
  return redactSecrets(text.trimEnd().split("\n").slice(-lines).join("\n").slice(-chars));
}

class Collector {
  private chunks: Buffer[] = [];
  constructor(private readonly onChunk?: (chunk: Buffer) => void) {}
  push = (chunk: Buffer) => (this.onChunk ? this.onChunk(chunk) : this.chunks.push(chunk));
  text = () => Buffer.concat(this.chunks).toString("utf8");
}

async function execaRun(file: string, args: string[], sinks: Sinks): Promise<Raw> {
  const sub = execa(file, args, { buffer: false, reject: false, stdin: "ignore", cancelSignal: sinks.signal, forceKillAfterDelay: 2000 });
  const out = new Collector(sinks.onStdout);
  const err = new Collector();
  sub.stdout.on("data", out.push);
  sub.stderr.on("data", err.push);
  const r = await sub;
  const stderr = err.text() + (r.exitCode === undefined && !r.isCanceled ? `${r.originalMessage || r.shortMessage}\n` : "");
  return { stdout: out.text(), stderr, exitCode: r.exitCode ?? 127 };
}

function localTransport(cluster: string, t: Extract<CephTransport, { kind: "local" }>): Transport {
  const full = (argv: string[]) => (t.confDir ? [argv[0]!, "-c", join(t.confDir, `${cluster}.conf`), ...argv.slice(1)] : argv);
  return {
    command: async (argv) => shellJoin(full(argv)),
    exec: (argv, sinks) => {
      const [file, ...args] = full(argv);
      return execaRun(file!, args, sinks);
    },
    close: async () => {},
  };
}

function sshTransport(t: Extract<CephTransport, { kind: "ssh" }>, connectTimeoutS: number): Transport {
  const sshArgs = [
    "-o",
    "BatchMode=yes",
    "-o",
    `ConnectTimeout=${connectTimeoutS}`,
    ...(t.port ? ["-p", String(t.port)] : []),
    ...(t.identityFile ? ["-i", t.identityFile] : []),
    t.user ? `${t.user}@${t.host}` : t.host,
  ];
  // NOTE: without a configured name the remote shell expands the container name, as `ceph-mon-$HOSTNAME` in the DCN guide.
  const container = t.container ? shellQuote(t.container) : `ceph-mon-"$(hostname -s)"`;
  const remote = (argv: string[]) => [...(t.sudo ? ["sudo", "-n"] : []), t.engine, "exec", container, shellJoin(argv)].join(" ");
  return {
    command: async (argv) => `ssh ${shellJoin(sshArgs)} ${shellQuote(remote(argv))}`,
    exec: (argv, sinks) => execaRun("ssh", [...sshArgs, "--", remote(argv)], sinks),
    close: async () => {},
  };
}

function dockerTransport(t: Extract<CephTransport, { kind: "docker" }>): Transport {
  const docker = t.socketPath
    ? new Docker({ socketPath: t.socketPath })
    : new Docker({ host: t.host, port: t.port ?? 2375, protocol: "http" });
  const engine = t.socketPath ? `unix://${t.socketPath}` : `tcp://${t.host}:${t.port ?? 2375}`;
  let resolved: Promise<string> | undefined;

  const resolveContainer = async (signal: AbortSignal): Promise<string> => {
    // NOTE: dockerode 4 accepts {abortSignal} on info(); @types/dockerode 4.0.2 does not declare it.
    const info = (docker.info as (o: { abortSignal: AbortSignal }) => Promise<{ Name?: unknown }>).call(docker, { abortSignal: signal });
    const name = t.container ?? `ceph-mon-${String((await info).Name).split(".")[0]}`;
    const running = await docker.listContainers({ abortSignal: signal });
    if (running.some((c) => c.Names.includes(`/${name}`) || c.Id === name)) return name;
    const mons = running.flatMap((c) => c.Names).filter((n) => n.startsWith("/ceph-mon-"));
    throw new Error(
      `no running container ${name} on ${engine}` +
        (mons.length
          ? `; running ceph-mon containers: ${mons.join(", ")} (set ceph.transport.container)`
          : "; no ceph-mon container is running"),
    );
  };
  const container = (signal: AbortSignal) => {
    resolved ??= resolveContainer(signal).catch((e: unknown) => {
      resolved = undefined;
      throw e;
    });
    return resolved;
  };

  return {
    command: async (argv, signal) => `docker -H ${engine} exec ${await container(signal)} ${shellJoin(argv)}`,
    exec: async (argv, sinks) => {
      const name = await container(sinks.signal);
      const exec = await docker
        .getContainer(name)
        .exec({ Cmd: argv, AttachStdout: true, AttachStderr: true, Tty: false, abortSignal: sinks.signal });
      const stream = await exec.start({ Detach: false, Tty: false, abortSignal: sinks.signal });
      const out = new Collector(sinks.onStdout);
      const err = new Collector();
      const sink = (push: (c: Buffer) => void) =>
        new Writable({
          write: (chunk: Buffer, _enc, cb) => {
            push(chunk);
            cb();
          },
        });
      await new Promise<void>((resolve, reject) => {
        docker.modem.demuxStream(stream, sink(out.push), sink(err.push));
        stream.on("end", resolve);
        stream.on("close", resolve);
        stream.on("error", reject);
      });
      let info = await exec.inspect({ abortSignal: sinks.signal });
      // NOTE: a real engine can close the stream a moment before it records the exit code.
      for (let i = 0; info.Running && i < 50; i++) {
        await new Promise((r) => setTimeout(r, 100));
        info = await exec.inspect({ abortSignal: sinks.signal });
      }
      if (info.ExitCode === null || info.ExitCode === undefined) throw new Error(`exec ${exec.id} has no exit code after its stream ended`);
      return { stdout: out.text(), stderr: err.text(), exitCode: info.ExitCode };
    },
    close: async () => {},
  };
}

export function createCephProbe(site: ProbeSite, opts: ProbeOptions = {}): CephProbe {
  const { cluster, transport: config, user } = site.ceph;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const kind = config.kind;
  const transport =
    config.kind === "local"
      ? localTransport(cluster, config)
      : config.kind === "ssh"
        ? sshTransport(config, Math.max(1, Math.min(10, Math.ceil(timeoutMs / 1000))))
        : dockerTransport(config);
  const inflight = new Set<AbortController>();
  let closed = false;

  const fail = (command: string, message: string, cause?: unknown): never => {
    throw new CephProbeError(`ceph probe ${site.name} (${kind}): ${message}`, site.name, kind, command, { cause });
  };

  /** onStdout returns true when it has read enough: the command is stopped, and that is a success. */
  const invoke = async (argv: string[], o: RunOptions & { onStdout?: (c: Buffer) => boolean | void } = {}): Promise<CommandResult> => {
    const shown = redactSecrets(argv.join(" "));
    if (closed) fail(shown, `probe is closed; refused \`${shown}\``);
    const check = checkReadOnly(argv, { cluster });
    if (!check.ok) fail(shown, `refused \`${shown}\`: ${check.reason}`);
    const full = [
      argv[0]!,
      "--cluster",
      cluster,
      ...(user ? ["--id", user] : []),
      ...argv.slice(1).filter((a, i, all) => a !== "--cluster" && all[i - 1] !== "--cluster" && !a.startsWith("--cluster=")),
    ];
    const limit = o.timeoutMs ?? timeoutMs;
    const ac = new AbortController();
    inflight.add(ac);
    const timer = setTimeout(() => ac.abort(new Error("timeout")), limit);
    let command = shellJoin(full);
    try {
      command = redactSecrets(await transport.command(full, ac.signal));
      const onStdout = o.onStdout && ((chunk: Buffer) => void (!ac.signal.aborted && o.onStdout!(chunk) && ac.abort(ENOUGH)));
      const raw = await transport.exec(full, { signal: ac.signal, onStdout }).catch((e: unknown) => {
        if (ac.signal.reason === ENOUGH) return { stdout: "", stderr: "", exitCode: 0 };
        throw e;
      });
      if (ac.signal.reason === ENOUGH) return { stdout: "", stderr: "", exitCode: 0, command };
      if (ac.signal.aborted) throw ac.signal.reason;
      const stdout = needsKeyStrip(full) ? stripKeys(raw.stdout) : raw.stdout;
      const stderr = redactSecrets(raw.stderr);
      if (raw.exitCode !== 0 && o.reject !== false) throw new CephCommandError(site.name, kind, command, raw.exitCode, tail(stderr));
      return { stdout, stderr, exitCode: raw.exitCode, command };
    } catch (e) {
      if (e instanceof CephProbeError) throw e;
      if (ac.signal.aborted && ac.signal.reason instanceof Error && ac.signal.reason.message === "timeout") {
        throw new CephTimeoutError(site.name, kind, command, limit);
      }
      if (ac.signal.aborted) fail(command, `\`${command}\` was cancelled (probe closed)`, e);
      return fail(command, `\`${command}\` failed: ${redactSecrets((e as Error).message ?? String(e))}`, e);
    } finally {
      clearTimeout(timer);
      inflight.delete(ac);
    }
  };

  const json = async (argv: string[]) => (await invoke([...argv, "--format", "json"])).stdout;

  const probe: CephProbe = {
    site: site.name,
    cluster,
    transport: kind,
    run: (argv, o) => invoke(argv, o),
    fsid: async () => parseCephFsid(await json(["ceph", "fsid"])),
    status: async () => parseCephStatus(await json(["ceph", "-s"])),
    health: async () => (await probe.status()).health,
    rbdList: async (pool) => parseRbdList(await json(["rbd", "-p", pool, "ls", "-l"])),
    rbdListText: async (pool) => (await invoke(["rbd", "-p", pool, "ls", "-l"])).stdout,
    rbdSnapshots: async (pool, image) => parseRbdSnapshots(await json(["rbd", "snap", "ls", `${pool}/${image}`])),
    rbdInfo: async (pool, image) => parseRbdInfo(await json(["rbd", "info", `${pool}/${image}`])),
    rbdChildren: async (pool, image, snapshot) => parseRbdChildren(await json(["rbd", "children", `${pool}/${image}@${snapshot}`])),
    exportHead: async (spec, headBytes, o = {}) => {
      const digest = new HeadDigestStream(headBytes);
      await invoke(["rbd", "export", "--no-progress", spec, "-"], {
        timeoutMs: o.timeoutMs,
        onStdout: (chunk) => digest.update(chunk) && !o.wholeImage,
      });
      return digest.result();
    },
    version: async () => {
      const out = (await json(["ceph", "version"])).trim();
      try {
        return String((JSON.parse(out) as { version?: unknown }).version ?? out);
      } catch {
        return out;
      }
    },
    close: async () => {
      closed = true;
      for (const ac of inflight) ac.abort(new Error("closed"));
      await transport.close();
    },
    [Symbol.asyncDispose]: () => probe.close(),
  };
  return probe;
}
