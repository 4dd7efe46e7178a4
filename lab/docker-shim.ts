import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { dirname, join } from "node:path";
import type { Duplex, Readable, Writable } from "node:stream";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { execa } from "execa";
import { z } from "zod";
import { checkReadOnly, needsKeyStrip, redactSecrets, stripKeys } from "../helpers/ceph/readonly.ts";

export interface ShimProcess {
  stdout: Readable;
  stderr: Readable;
  /** Resolves once the process has exited; never rejects. */
  exit: Promise<{ exitCode: number; error?: string }>;
  kill(): void;
}

/** Runs a host command (argv[0] is rbd or ceph, `--cluster <site>` already in place). */
export type ShimRunner = (argv: string[]) => ShimProcess;

export interface ShimOptions {
  site: string;
  /** The cluster its commands reach: the site's own, unless the lab's probe-misdirected fault says otherwise. */
  cluster?: string;
  runner?: ShimRunner;
  /** When given, `-c <confDir>/<site>.conf` is added to every command. */
  confDir?: string;
}

export const execaRunner: ShimRunner = (argv) => {
  const sub = execa(argv[0]!, argv.slice(1), { buffer: false, reject: false, stdin: "ignore", stripFinalNewline: false });
  return {
    stdout: sub.stdout,
    stderr: sub.stderr,
    exit: sub.then(
      (r) => (r.exitCode !== undefined ? { exitCode: r.exitCode } : { exitCode: 127, error: r.originalMessage || r.shortMessage }),
      (e: Error) => ({ exitCode: 127, error: e.message }),
    ),
    kill: () => sub.kill("SIGTERM"),
  };
};

const API_VERSION = "1.41";

const execCreateSchema = z.looseObject({
  Cmd: z.array(z.string()).min(1),
  AttachStdout: z.boolean().optional(),
  AttachStderr: z.boolean().optional(),
  Tty: z.boolean().optional(),
});

interface ExecRecord {
  id: string;
  argv: string[];
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  running: boolean;
  started: boolean;
  exitCode: number | null;
  pid: number;
}

/** Docker's 8-byte frame header for `length` bytes of `stream`. */
function frameHeader(stream: 1 | 2, length: number): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt8(stream, 0);
  header.writeUInt32BE(length, 4);
  return header;
}

function hostArgv(cmd: string[], site: string, confDir?: string): string[] {
  const [tool, ...rest] = cmd;
  const withoutCluster: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === "--cluster") i++;
    else if (!rest[i]!.startsWith("--cluster=")) withoutCluster.push(rest[i]!);
  }
  const conf = confDir ? ["-c", join(confDir, `${site}.conf`)] : [];
  return [tool!, "--cluster", site, ...conf, ...withoutCluster];
}

export function createShimServer(opts: ShimOptions): http.Server {
  const { site, confDir } = opts;
  const cluster = opts.cluster ?? site;
  const runner = opts.runner ?? execaRunner;
  const name = `ceph-mon-${site}`;
  const containerId = createHash("sha256").update(`dcn-verify-shim:${name}`).digest("hex");
  const image = "dcn-verify/docker-shim:host-ceph";
  const created = new Date();
  const execs = new Map<string, ExecRecord>();
  const running = new Set<ShimProcess>();

  const summary = () => ({
    Id: containerId,
    Names: [`/${name}`],
    Image: image,
    ImageID: `sha256:${createHash("sha256").update(image).digest("hex")}`,
    Command: `host rbd/ceph --cluster ${site}`,
    Created: Math.floor(created.getTime() / 1000),
    State: "running",
    Status: "Up (dcn-verify docker shim)",
    Labels: { "dcn-verify.shim": "true", "dcn-verify.site": site },
    Ports: [],
    Mounts: [],
  });

  const isOurs = (ref: string) => {
    const r = decodeURIComponent(ref).replace(/^\//, "");
    return r === name || (r.length > 0 && containerId.startsWith(r));
  };

  const matchesFilters = (query: URLSearchParams) => {
    const raw = query.get("filters");
    if (!raw) return true;
    let filters: Record<string, string[] | Record<string, boolean>>;
    try {
      filters = JSON.parse(raw);
    } catch {
      return false;
    }
    const values = (k: string) => {
      const v = filters[k];
      return v === undefined ? undefined : Array.isArray(v) ? v : Object.keys(v);
    };
    const names = values("name");
    const status = values("status");
    const id = values("id");
    if (names && !names.some((n) => new RegExp(n).test(`/${name}`))) return false;
    if (status && !status.includes("running")) return false;
    if (id && !id.some((i) => containerId.startsWith(i))) return false;
    return true;
  };

  const inspectExec = (e: ExecRecord) => ({
    ID: e.id,
    Running: e.running,
    ExitCode: e.exitCode,
    ProcessConfig: { tty: e.tty, entrypoint: e.argv[0], arguments: e.argv.slice(1), privileged: false, user: "" },
    OpenStdin: false,
    OpenStderr: e.stderr,
    OpenStdout: e.stdout,
    CanRemove: false,
    ContainerID: containerId,
    DetachKeys: "",
    Pid: e.pid,
  });

  /** Runs an exec and writes its output to `sink` in Docker's multiplexed format (raw when tty). */
  const runExec = (e: ExecRecord, sink: Writable | undefined) => {
    e.started = true;
    e.running = true;
    const proc = runner(hostArgv(e.argv, cluster, confDir));
    running.add(proc);
    let sinkClosed = false;
    const write = (stream: 1 | 2, data: Buffer) => {
      if (!sink || sinkClosed || data.length === 0 || (stream === 1 ? !e.stdout : !e.stderr)) return true;
      if (e.tty) return sink.write(data);
      // NOTE: header and data go out in one writev: copying each 64 KiB chunk behind its header cost the lab more CPU
      // than the rbd export it carried.
      sink.cork();
      sink.write(frameHeader(stream, data.length));
      const ok = sink.write(data);
      sink.uncork();
      return ok;
    };
    const pump = (source: Readable, stream: 1 | 2, transform?: (b: Buffer) => Buffer | undefined) =>
      new Promise<void>((resolve) => {
        source.on("data", (chunk: Buffer) => {
          const out = transform ? transform(chunk) : chunk;
          if (out && !write(stream, out)) {
            source.pause();
            sink!.once("drain", () => source.resume());
          }
        });
        source.on("end", resolve);
        source.on("error", () => resolve());
        source.on("close", resolve);
      });

    const stripStdout = needsKeyStrip(e.argv);
    const held: Buffer[] = [];
    let errTail = "";
    const redactLines = (chunk: Buffer) => {
      errTail += chunk.toString("utf8");
      const cut = errTail.lastIndexOf("\n") + 1;
      if (cut === 0) return undefined;
      const lines = errTail.slice(0, cut);
      errTail = errTail.slice(cut);
      return Buffer.from(redactSecrets(lines));
    };
    sink?.on("close", () => {
      sinkClosed = true;
      if (e.running) proc.kill();
    });
    sink?.on("error", () => {
      sinkClosed = true;
    });

    void Promise.all([
      pump(proc.stdout, 1, stripStdout ? (b) => void held.push(b) : undefined),
      pump(proc.stderr, 2, redactLines),
      proc.exit,
    ]).then(([, , exit]) => {
      if (stripStdout) write(1, Buffer.from(stripKeys(Buffer.concat(held).toString("utf8"))));
      if (errTail) write(2, Buffer.from(redactSecrets(errTail)));
      if (exit.error) write(2, Buffer.from(`docker-shim: ${redactSecrets(exit.error)}\n`));
      running.delete(proc);
      // NOTE: ExitCode is set before the stream ends, so an inspect right after 'end' sees it.
      e.exitCode = exit.exitCode;
      e.running = false;
      sink?.end();
      setTimeout(() => execs.delete(e.id), 10 * 60_000).unref();
    });
  };

  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text), "Api-Version": API_VERSION });
    res.end(text);
  };

  const readBody = (req: http.IncomingMessage) =>
    new Promise<unknown>((resolve) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8").trim();
        try {
          resolve(text ? JSON.parse(text) : {});
        } catch {
          resolve(undefined);
        }
      });
      req.on("error", () => resolve(undefined));
    });

  const route = (method: string | undefined, url: string) => {
    const u = new URL(url, "http://shim");
    const path = u.pathname.replace(/^\/v\d+(\.\d+)?(?=\/)/, "");
    return { method: method ?? "GET", path, query: u.searchParams };
  };

  const createExec = async (req: http.IncomingMessage, res: http.ServerResponse, ref: string) => {
    if (!isOurs(ref)) return json(res, 404, { message: `No such container: ${decodeURIComponent(ref)}` });
    const body = execCreateSchema.safeParse(await readBody(req));
    if (!body.success) return json(res, 400, { message: `bad exec config: ${z.prettifyError(body.error)}` });
    const check = checkReadOnly(body.data.Cmd, { cluster: site });
    // 403 is not in dockerode's status map for exec create, so it surfaces as "(HTTP code 403) unexpected - refused: <why>".
    if (!check.ok) return json(res, 403, { message: `refused: ${check.reason}` });
    const id = randomBytes(32).toString("hex");
    execs.set(id, {
      id,
      argv: body.data.Cmd,
      stdout: body.data.AttachStdout ?? true,
      stderr: body.data.AttachStderr ?? true,
      tty: body.data.Tty ?? false,
      running: false,
      started: false,
      exitCode: null,
      pid: 0,
    });
    setTimeout(() => {
      if (!execs.get(id)?.started) execs.delete(id);
    }, 10 * 60_000).unref();
    json(res, 201, { Id: id });
  };

  const startExec = async (req: http.IncomingMessage, res: http.ServerResponse, id: string) => {
    const e = execs.get(id);
    if (!e) return json(res, 404, { message: `No such exec instance: ${id}` });
    if (e.started) return json(res, 409, { message: `exec ${id} has already been started` });
    const body = z.looseObject({ Detach: z.boolean().optional(), Tty: z.boolean().optional() }).safeParse(await readBody(req));
    if (body.success && body.data.Tty !== undefined) e.tty = body.data.Tty;
    if (body.success && body.data.Detach) {
      runExec(e, undefined);
      return json(res, 200, {});
    }
    res.writeHead(200, {
      "Content-Type": e.tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream",
      "Api-Version": API_VERSION,
    });
    res.flushHeaders();
    runExec(e, res);
  };

  /** dockerode's `exec.start({hijack: true})` asks for an upgrade; answer 101 and stream on the raw socket. */
  const hijackExec = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const { method, path } = route(req.method, req.url ?? "/");
    const m = /^\/exec\/([^/]+)\/start$/.exec(path);
    const e = m ? execs.get(m[1]!) : undefined;
    const reject = (status: string, message: string) => {
      const text = JSON.stringify({ message });
      socket.end(
        `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
      );
    };
    if (method !== "POST" || !m) return reject("404 Not Found", "page not found");
    if (!e) return reject("404 Not Found", `No such exec instance: ${m[1]}`);
    if (e.started) return reject("409 Conflict", `exec ${m[1]} has already been started`);
    const length = Number(req.headers["content-length"] ?? 0);
    let body = head;
    const begin = () => {
      socket.removeListener("data", onData);
      try {
        const start = JSON.parse(body.subarray(0, length).toString("utf8") || "{}") as { Tty?: boolean };
        if (typeof start.Tty === "boolean") e.tty = start.Tty;
      } catch {
        // an unreadable start body falls back to the exec's own settings
      }
      socket.write(
        `HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.${e.tty ? "raw" : "multiplexed"}-stream\r\n` +
          `Connection: Upgrade\r\nUpgrade: tcp\r\nApi-Version: ${API_VERSION}\r\n\r\n`,
      );
      runExec(e, socket);
    };
    const onData = (chunk: Buffer) => {
      body = Buffer.concat([body, chunk]);
      if (body.length >= length) begin();
    };
    if (body.length >= length) begin();
    else socket.on("data", onData);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const { method, path, query } = route(req.method, req.url ?? "/");
    let m: RegExpExecArray | null;
    if (path === "/_ping" && (method === "GET" || method === "HEAD")) {
      res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8", "Api-Version": API_VERSION, Ostype: "linux" });
      return res.end(method === "HEAD" ? undefined : "OK");
    }
    if (method === "GET" && path === "/version") {
      return json(res, 200, {
        Platform: { Name: "dcn-verify docker shim" },
        Version: "0.1.0-dcn-verify-shim",
        ApiVersion: API_VERSION,
        MinAPIVersion: "1.12",
        Os: "linux",
        Arch: process.arch === "x64" ? "amd64" : process.arch,
        KernelVersion: "",
        Components: [],
      });
    }
    if (method === "GET" && path === "/info") {
      return json(res, 200, {
        ID: containerId.slice(0, 12),
        Name: site,
        Containers: 1,
        ContainersRunning: 1,
        ContainersPaused: 0,
        ContainersStopped: 0,
        OperatingSystem: "dcn-verify docker shim",
        OSType: "linux",
        ServerVersion: "0.1.0-dcn-verify-shim",
      });
    }
    if (method === "GET" && path === "/containers/json") return json(res, 200, matchesFilters(query) ? [summary()] : []);
    if (method === "GET" && (m = /^\/containers\/([^/]+)\/json$/.exec(path))) {
      if (!isOurs(m[1]!)) return json(res, 404, { message: `No such container: ${decodeURIComponent(m[1]!)}` });
      return json(res, 200, {
        Id: containerId,
        Name: `/${name}`,
        Created: created.toISOString(),
        Image: summary().ImageID,
        State: {
          Status: "running",
          Running: true,
          Paused: false,
          Restarting: false,
          OOMKilled: false,
          Dead: false,
          Pid: process.pid,
          ExitCode: 0,
          Error: "",
          StartedAt: created.toISOString(),
          FinishedAt: "0001-01-01T00:00:00Z",
        },
        Config: { Hostname: site, Image: image, Labels: summary().Labels, Tty: false },
        ExecIDs: [...execs.values()].filter((e) => e.running).map((e) => e.id),
      });
    }
    if (method === "POST" && (m = /^\/containers\/([^/]+)\/exec$/.exec(path))) return createExec(req, res, m[1]!);
    if (method === "POST" && (m = /^\/exec\/([^/]+)\/start$/.exec(path))) return startExec(req, res, m[1]!);
    if (method === "GET" && (m = /^\/exec\/([^/]+)\/json$/.exec(path))) {
      const e = execs.get(m[1]!);
      return e ? json(res, 200, inspectExec(e)) : json(res, 404, { message: `No such exec instance: ${m[1]}` });
    }
    json(res, 404, { message: "page not found" });
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) json(res, 500, { message: redactSecrets(err.message) });
      else res.destroy(err);
    });
  });
  server.on("upgrade", hijackExec);
  server.on("close", () => {
    for (const p of running) p.kill();
  });
  return server;
}

async function socketInUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(path);
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => resolve(false));
  });
}

/** Listens on `socket`, replacing a stale socket file but never a live one. */
export async function listenShim(server: http.Server, socket: string): Promise<void> {
  if (await socketInUse(socket)) throw new Error(`docker-shim: ${socket} is already served by another process`);
  mkdirSync(dirname(socket), { recursive: true });
  rmSync(socket, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socket, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/**
 * One process serves every site given: `--serve <site>[:<cluster>]=<socket>` (repeatable), or
 * `--site S --socket P`. A cluster after the site makes that site's container reach another cluster.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      socket: { type: "string" },
      site: { type: "string" },
      serve: { type: "string", multiple: true },
      "conf-dir": { type: "string" },
    },
  });
  const pairs: [string, string][] = (values.serve ?? []).map((p) => {
    const i = p.indexOf("=");
    return [p.slice(0, i), p.slice(i + 1)];
  });
  if (values.site && values.socket) pairs.push([values.site, values.socket]);
  if (pairs.length === 0 || pairs.some(([site, socket]) => !site || !socket)) {
    process.stderr.write(
      "usage: node --import tsx lab/docker-shim.ts (--serve <site>=<socket>)... | --socket <path> --site <site> [--conf-dir /etc/ceph]\n",
    );
    process.exit(2);
  }
  const servers: [http.Server, string][] = [];
  for (const [siteSpec, socket] of pairs) {
    const [site, cluster] = siteSpec.split(":") as [string, string | undefined];
    const server = createShimServer({ site, cluster, confDir: values["conf-dir"] });
    await listenShim(server, socket);
    servers.push([server, socket]);
    process.stderr.write(`docker-shim: serving ceph-mon-${site} on ${socket} (pid ${process.pid})\n`);
  }
  const stop = () => {
    let open = servers.length;
    for (const [server, socket] of servers) {
      rmSync(socket, { force: true });
      server.close(() => {
        if (--open === 0) process.exit(0);
      });
      server.closeAllConnections();
    }
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: Error) => {
    process.stderr.write(`docker-shim: ${err.message}\n`);
    process.exit(1);
  });
}
