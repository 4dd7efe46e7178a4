import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type Docker from "dockerode";
import {
  Collector,
  type ContainerTransport,
  dockerDemuxer,
  knownHostKeys,
  shellJoin,
  type Transport,
  type TransportDef,
  type TransportSite,
} from "./common.ts";

/** ssh2's check of the engine host's key, by the transport's known-hosts policy. */
export function hostVerifier(t: ContainerTransport, host: string, port: number): (key: Buffer) => boolean {
  const policy = t.hostKeyChecking ?? "strict";
  const file = t.knownHostsFile ?? join(process.env.HOME ?? "/root", ".ssh", "known_hosts");
  return (key) => {
    if (policy === "off") return true;
    const known = existsSync(file) ? knownHostKeys(readFileSync(file, "utf8"), host, port) : [];
    const offered = key.toString("base64");
    if (known.some((k) => k.key === offered)) return true;
    if (known.length || policy === "strict") return false;
    const type = key.subarray(4, 4 + key.readUInt32BE(0)).toString("ascii");
    appendFileSync(file, `${port === 22 ? host : `[${host}]:${port}`} ${type} ${offered}\n`, { mode: 0o600 });
    return true;
  };
}

/** dockerode, loaded on first use: loading it costs every CLI command about 0.4 s. */
const loadDocker = async (): Promise<typeof Docker> => (await import("dockerode")).default;

/** How an operator would name the site's engine to the docker CLI. */
const engineName = (t: ContainerTransport): string =>
  t.socketPath
    ? `unix://${t.socketPath}`
    : (t.url ?? (t.tls ? `tcp://${t.host}:${t.port ?? 2376} --tlsverify` : `tcp://${t.host}:${t.port ?? 2375}`));

/** The Docker or Podman API of the site's engine, and how an operator would name it to the docker CLI. */
export function containerEngine(Docker: typeof import("dockerode"), t: ContainerTransport): { docker: Docker; engine: string } {
  const engine = engineName(t);
  if (t.socketPath) return { docker: new Docker({ socketPath: t.socketPath }), engine };
  if (t.url) {
    const u = new URL(t.url);
    const port = Number(u.port || 22);
    const docker = new Docker({
      protocol: "ssh",
      host: u.hostname,
      port,
      username: decodeURIComponent(u.username) || undefined,
      sshOptions: {
        ...(t.identityFile ? { privateKey: readFileSync(t.identityFile) } : { agent: process.env.SSH_AUTH_SOCK }),
        hostVerifier: hostVerifier(t, u.hostname, port),
      },
    } as Docker.DockerOptions);
    return { docker, engine };
  }
  if (t.tls) {
    const port = t.port ?? 2376;
    const read = (f?: string) => (f ? readFileSync(f) : undefined);
    const docker = new Docker({ host: t.host, port, protocol: "https", ca: read(t.tls.ca), cert: read(t.tls.cert), key: read(t.tls.key) });
    return { docker, engine };
  }
  return { docker: new Docker({ host: t.host, port: t.port ?? 2375, protocol: "http" }), engine };
}

/** The mon container to exec in when none is named: cephadm's `ceph-<fsid>-mon-<host>` when the fsid is pinned, ceph-ansible's `ceph-mon-<host>` otherwise. */
export const defaultContainer = (host: string, fsid?: string) => (fsid ? `ceph-${fsid}-mon-${host}` : `ceph-mon-${host}`);

/** A mon container's name as ceph-ansible (`ceph-mon-<host>`) or cephadm (`ceph-<fsid>-mon-<host>`) gives it. */
const MON_CONTAINER = /^\/?ceph-(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-)?mon-/i;

export function containerTransport(site: TransportSite<ContainerTransport>): Transport {
  const t = site.ceph.transport;
  const engine = engineName(t);
  let engineApi: Promise<Docker> | undefined;
  const api = () => (engineApi ??= loadDocker().then((D) => containerEngine(D, t).docker));

  const resolveContainer = async (signal: AbortSignal): Promise<string> => {
    const docker = await api();
    // NOTE: dockerode 4 accepts {abortSignal} on info(); @types/dockerode 4.0.2 does not declare it.
    const info = (docker.info as (o: { abortSignal: AbortSignal }) => Promise<{ Name?: unknown }>).call(docker, { abortSignal: signal });
    const name = t.container ?? defaultContainer(String((await info).Name).split(".")[0]!, site.ceph.fsid);
    const running = await docker.listContainers({ abortSignal: signal });
    if (running.some((c) => c.Names.includes(`/${name}`) || c.Id === name)) return name;
    const mons = running.flatMap((c) => c.Names).filter((n) => MON_CONTAINER.test(n));
    throw new Error(
      `no running container ${name} on ${engine}` +
        (mons.length
          ? `; running ceph-mon containers: ${mons.join(", ")} (set ceph.transport.container)`
          : "; no ceph-mon-* or ceph-<fsid>-mon-* container is running"),
    );
  };
  let resolved: Promise<string> | undefined;
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
      const exec = await (
        await api()
      )
        .getContainer(name)
        .exec({ Cmd: argv, AttachStdout: true, AttachStderr: true, Tty: false, abortSignal: sinks.signal });
      const stream = await exec.start({ Detach: false, Tty: false, abortSignal: sinks.signal });
      const out = new Collector(sinks.onStdout);
      const err = new Collector();
      const demux = dockerDemuxer(out.push, err.push);
      await new Promise<void>((resolve, reject) => {
        stream.on("data", (chunk: Buffer) => {
          try {
            demux(chunk);
          } catch (e) {
            stream.destroy();
            reject(e);
          }
        });
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

/**
 * A Docker or Podman API runs rbd and ceph in the site's mon container. cephadm's default container (fsid pinned)
 * mounts only ceph.conf: no --cluster there; a named container keeps it.
 */
export const container: TransportDef<"container"> = {
  view: (site) => ({ cluster: Boolean(site.ceph.transport.container) || !site.ceph.fsid, files: true }),
  open: (site) => containerTransport(site),
};
