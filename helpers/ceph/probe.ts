import type { CephTransport } from "../config/schema.ts";
import { cloudCall } from "../core/cloud-wait.ts";
import { type HeadDigest, HeadDigestStream } from "../core/digest.ts";
import {
  type CephStatus,
  parseCephFsid,
  parseCephStatus,
  parseRbdChildren,
  parseRbdDiff,
  parseRbdInfo,
  parseRbdList,
  parseRbdSnapshots,
  type RbdChild,
  type RbdEntry,
  type RbdExtent,
  type RbdInfo,
  type RbdSnapshot,
} from "./rbd.ts";
import { checkReadOnly, needsKeyStrip, redactSecrets, stripKeys } from "./readonly.ts";
import { shellJoin, type TransportSite } from "./transports/common.ts";
import { clientArgs, openTransport } from "./transports/index.ts";
import { isNoCephAccess } from "./transports/none.ts";

export { shellQuote } from "./transports/common.ts";
export { isNoCephAccess, NoCephAccessError, noAccessReason } from "./transports/none.ts";

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
  /** argv starts with `rbd` or `ceph`; the client options (`--cluster` where the transport's view needs it) are added by the probe. */
  run(argv: string[], opts?: RunOptions): Promise<CommandResult>;
  fsid(): Promise<string>;
  status(): Promise<CephStatus>;
  health(): Promise<CephStatus["health"]>;
  rbdList(pool: string): Promise<RbdEntry[]>;
  rbdListText(pool: string): Promise<string>;
  rbdSnapshots(pool: string, image: string): Promise<RbdSnapshot[]>;
  rbdInfo(pool: string, image: string): Promise<RbdInfo>;
  /** `rbd info` of an image or snapshot spec (`pool/image[@snap]`). */
  rbdInfoOf(spec: string): Promise<RbdInfo>;
  /** The extents of `pool/image[@snap]` that hold data of its own (`rbd diff`; a clone's parent's are not listed). */
  rbdDiff(spec: string): Promise<RbdExtent[]>;
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

export type ProbeSite = TransportSite;

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

/** The reason a site's transport none gives, if any. */
export const noneReason = (site: { ceph: { transport: CephTransport } }) =>
  site.ceph.transport.kind === "none" ? site.ceph.transport.reason : undefined;

/** Whether the config gives the runner a way to this site's Ceph. */
export const hasCephAccess = (site: { ceph: { transport: CephTransport } }) => site.ceph.transport.kind !== "none";

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

/**
 * An rbd command on an image that was deleted after it was listed (by another test, say): ENOENT on opening it.
 * `rbd ls -l` says "error opening <name>", `rbd info` and `rbd snap ls` "error opening image <name>".
 */
export function isImageGone(e: unknown): boolean {
  return e instanceof CephCommandError && /error opening (image )?\S+: \(2\) No such file or directory/.test(e.stderrTail);
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

/**
 * What became of a probe command that gave no answer to read: it did not finish in time, it ran and exited
 * with an error, or the way to the cluster (ssh, the container API, the local exec) refused or failed it.
 */
export type ProbeFailure =
  | { kind: "timeout"; command: string; timeoutMs: number }
  | { kind: "exited"; command: string; exitCode: number; firstLine: string }
  | { kind: "refused"; command: string; firstLine: string };

const firstLine = (text: string) =>
  redactSecrets(
    text
      .split("\n")
      .map((l) => l.trim())
      .find(Boolean) ?? "",
  );

/** The failure a probe call threw, by kind, with the command and the first line of the error. */
export function probeFailureOf(e: unknown, fallbackCommand = "the command"): ProbeFailure {
  if (e instanceof CephTimeoutError) return { kind: "timeout", command: e.command, timeoutMs: e.timeoutMs };
  if (e instanceof CephCommandError)
    return { kind: "exited", command: e.command, exitCode: e.exitCode, firstLine: firstLine(e.stderrTail) || "no stderr" };
  const cause = e instanceof CephProbeError && e.cause instanceof Error ? e.cause : e;
  const message = cause instanceof Error ? cause.message : String(cause);
  return { kind: "refused", command: e instanceof CephProbeError ? e.command : fallbackCommand, firstLine: firstLine(message) };
}

/** The reason a command is stopped once its reader has what it needs. */
const ENOUGH = new Error("enough");

function tail(text: string, lines = 12, chars = 2000): string {
  return redactSecrets(text.trimEnd().split("\n").slice(-lines).join("\n").slice(-chars));
}

export function createCephProbe(site: ProbeSite, opts: ProbeOptions = {}): CephProbe {
  const { cluster, transport: config } = site.ceph;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const kind = config.kind;
  const transport = openTransport(site, { connectTimeoutS: Math.max(1, Math.min(10, Math.ceil(timeoutMs / 1000))) });
  const inflight = new Set<AbortController>();
  let closed = false;

  const fail = (command: string, message: string, cause?: unknown): never => {
    throw new CephProbeError(`ceph probe ${site.name} (${kind}): ${message}`, site.name, kind, command, { cause });
  };

  /** onStdout returns true when it has read enough: the command is stopped, and that is a success. */
  const invoke = (argv: string[], o: RunOptions & { onStdout?: (c: Buffer) => boolean | void } = {}): Promise<CommandResult> =>
    cloudCall(() => execute(argv, o));

  const execute = async (argv: string[], o: RunOptions & { onStdout?: (c: Buffer) => boolean | void }): Promise<CommandResult> => {
    const shown = redactSecrets(argv.join(" "));
    if (closed) fail(shown, `probe is closed; refused \`${shown}\``);
    const check = checkReadOnly(argv, { cluster });
    if (!check.ok) fail(shown, `refused \`${shown}\`: ${check.reason}`);
    const full = [
      argv[0]!,
      ...clientArgs(site),
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
      if (e instanceof CephProbeError || isNoCephAccess(e)) throw e;
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

  // NOTE: `rbd ls -l` opens each image it lists; one deleted in between (a volume another test removes) makes the
  // whole listing fail with "error opening <image>: (2) No such file or directory". The listing is taken again.
  const listing = async <T>(read: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await read();
      } catch (e) {
        if (attempt >= 3 || !isImageGone(e)) throw e;
      }
    }
  };

  const probe: CephProbe = {
    site: site.name,
    cluster,
    transport: kind,
    run: (argv, o) => invoke(argv, o),
    fsid: async () => parseCephFsid(await json(["ceph", "fsid"])),
    status: async () => parseCephStatus(await json(["ceph", "-s"])),
    health: async () => (await probe.status()).health,
    rbdList: (pool) => listing(async () => parseRbdList(await json(["rbd", "-p", pool, "ls", "-l"]))),
    rbdListText: (pool) => listing(async () => (await invoke(["rbd", "-p", pool, "ls", "-l"])).stdout),
    rbdSnapshots: async (pool, image) => parseRbdSnapshots(await json(["rbd", "snap", "ls", `${pool}/${image}`])),
    rbdInfo: async (pool, image) => parseRbdInfo(await json(["rbd", "info", `${pool}/${image}`])),
    rbdInfoOf: async (spec) => parseRbdInfo(await json(["rbd", "info", spec])),
    rbdDiff: async (spec) => parseRbdDiff(await json(["rbd", "diff", spec])),
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
