import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import type http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Duplex, PassThrough, Writable } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import Docker from "dockerode";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CephCommandError, CephTimeoutError, createCephProbe } from "../helpers/ceph/probe.ts";
import { createShimServer, listenShim, type ShimRunner } from "./docker-shim.ts";
import { labTlsFiles, startTlsFront } from "./tls-front.ts";

const KEY = "AQBvxyFnAAAAABAAk2Zr6b0mJ4dS5rQb8f8Jxw==";
const FSID = "0f9ee397-8b6d-483e-8d10-9bbfe358836c";
const EXPORT_CHUNK = Buffer.alloc(256 * 1024, 7);
const EXPORT_CHUNKS = 32;

/** Stands in for rbd/ceph: echoes argv as JSON, with a few argv-driven behaviours. */
const stubRunner: ShimRunner = (argv) => {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const killed = new AbortController();
  const joined = argv.join(" ");
  const exit = (async () => {
    if (argv.includes("export")) {
      for (let i = 0; i < EXPORT_CHUNKS && !killed.signal.aborted; i++) {
        if (!stdout.write(EXPORT_CHUNK)) await new Promise((r) => stdout.once("drain", r));
      }
    } else if (argv.includes("fsid")) {
      stdout.write(JSON.stringify({ fsid: FSID }));
    } else if (argv.includes("auth")) {
      stdout.write(JSON.stringify([{ entity: "client.admin", key: KEY, caps: { mon: "allow *" } }]));
    } else if (joined.includes("volumes/sleep")) {
      await delay(10_000, undefined, { signal: killed.signal }).catch(() => {});
    } else {
      stdout.write(`${JSON.stringify(argv)}\n`);
    }
    stderr.write(joined.includes("leak") ? `rbd: auth failed, key = ${KEY}\n` : `stub ran ${joined}\n`);
    stdout.end();
    stderr.end();
    return { exitCode: Number(/exit-(\d+)/.exec(joined)?.[1] ?? (killed.signal.aborted ? 143 : 0)) };
  })();
  return { stdout, stderr, exit, kill: () => killed.abort() };
};

function collect(stream: NodeJS.ReadableStream, docker: Docker): Promise<{ stdout: string; stderr: string }> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const sink = (into: Buffer[]) =>
    new Writable({
      write: (c: Buffer, _e, cb) => {
        into.push(c);
        cb();
      },
    });
  docker.modem.demuxStream(stream, sink(out), sink(err));
  return new Promise((resolve, reject) => {
    const done = () => resolve({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    stream.on("end", done);
    stream.on("close", done);
    stream.on("error", reject);
  });
}

describe("docker shim, driven by dockerode", () => {
  let dir: string;
  let socket: string;
  let server: http.Server;
  let docker: Docker;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "dcnv-shim-"));
    socket = join(dir, "dcn0.sock");
    server = createShimServer({ site: "dcn0", runner: stubRunner });
    await listenShim(server, socket);
    docker = new Docker({ socketPath: socket });
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  test("ping, version and info answer", async () => {
    expect(String(await docker.ping())).toBe("OK");
    expect((await docker.version()).ApiVersion).toBe("1.41");
    expect((await docker.info()).Name).toBe("dcn0");
  });

  test("lists one running container named ceph-mon-<site>", async () => {
    const list = await docker.listContainers();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ Names: ["/ceph-mon-dcn0"], State: "running" });
    expect(await docker.listContainers({ filters: { name: ["ceph-mon-dcn0"] } })).toHaveLength(1);
    expect(await docker.listContainers({ filters: { name: ["ceph-mon-dcn1"] } })).toHaveLength(0);
  });

  test("inspects the container by name and by id prefix; 404 for others", async () => {
    const byName = await docker.getContainer("ceph-mon-dcn0").inspect();
    expect(byName.State.Running).toBe(true);
    const byId = await docker.getContainer(byName.Id.slice(0, 12)).inspect();
    expect(byId.Name).toBe("/ceph-mon-dcn0");
    await expect(docker.getContainer("ceph-mon-dcn1").inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  test("exec start streams demuxed stdout/stderr with --cluster injected; inspect gives the exit code", async () => {
    const exec = await docker.getContainer("ceph-mon-dcn0").exec({
      Cmd: ["rbd", "-p", "volumes", "ls", "-l", "--format", "json"],
      AttachStdout: true,
      AttachStderr: true,
    });
    const { stdout, stderr } = await collect(await exec.start({}), docker);
    expect(JSON.parse(stdout)).toEqual(["rbd", "--cluster", "dcn0", "-p", "volumes", "ls", "-l", "--format", "json"]);
    expect(stderr).toContain("stub ran rbd --cluster dcn0");
    expect(await exec.inspect()).toMatchObject({ ExitCode: 0, Running: false });
  });

  test("exec start with hijack gets a 101 upgrade and the same stream", async () => {
    const exec = await docker.getContainer("ceph-mon-dcn0").exec({ Cmd: ["ceph", "-s"], AttachStdout: true, AttachStderr: true });
    const stream = (await exec.start({ hijack: true, stdin: false })) as Duplex;
    const { stdout } = await collect(stream, docker);
    expect(JSON.parse(stdout)).toEqual(["ceph", "--cluster", "dcn0", "-s"]);
    expect((await exec.inspect()).ExitCode).toBe(0);
  });

  test("a non-zero exit code is reported by exec inspect", async () => {
    const exec = await docker
      .getContainer("ceph-mon-dcn0")
      .exec({ Cmd: ["rbd", "info", "volumes/exit-3"], AttachStdout: true, AttachStderr: true });
    await collect(await exec.start({}), docker);
    expect((await exec.inspect()).ExitCode).toBe(3);
  });

  test("a caller's --cluster for this site is replaced, not doubled", async () => {
    const exec = await docker.getContainer("ceph-mon-dcn0").exec({ Cmd: ["rbd", "--cluster", "dcn0", "ls"], AttachStdout: true });
    const { stdout } = await collect(await exec.start({}), docker);
    expect(JSON.parse(stdout)).toEqual(["rbd", "--cluster", "dcn0", "ls"]);
  });

  test("tolerates a version prefix in the path", async () => {
    const versioned = new Docker({ socketPath: socket, version: "v1.41" });
    expect(await versioned.listContainers()).toHaveLength(1);
    const exec = await versioned.getContainer("ceph-mon-dcn0").exec({ Cmd: ["rbd", "ls"], AttachStdout: true });
    await collect(await exec.start({}), versioned);
    expect((await exec.inspect()).ExitCode).toBe(0);
  });

  test.each([
    [["rbd", "rm", "x"], /refused: 'rbd rm x' is not a read-only command/],
    [["rbd", "snap", "create", "images/x@s"], /refused: .*not a read-only/],
    [["rbd", "--cluster", "dcn1", "ls"], /refused: --cluster dcn1 is not this site's cluster/],
    [["rbd", "-c", "/etc/ceph/dcn1.conf", "ls"], /refused: option -c is not accepted/],
    [["sh", "-c", "rbd rm x"], /refused: only rbd and ceph may run/],
  ])("refuses %j at exec create with a readable error", async (cmd, why) => {
    const err = await docker
      .getContainer("ceph-mon-dcn0")
      .exec({ Cmd: cmd, AttachStdout: true })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ statusCode: 403 });
    expect((err as Error).message).toMatch(why);
  });

  test("strips keys from ceph auth get output", async () => {
    const exec = await docker.getContainer("ceph-mon-dcn0").exec({
      Cmd: ["ceph", "auth", "get", "client.admin", "--format", "json"],
      AttachStdout: true,
    });
    const { stdout } = await collect(await exec.start({}), docker);
    expect(stdout).not.toContain(KEY);
    expect(JSON.parse(stdout)).toEqual([{ entity: "client.admin", caps: { mon: "allow *" } }]);
  });

  describe("CephProbe over the docker transport", () => {
    const probe = (extra: { container?: string; timeoutMs?: number } = {}) =>
      createCephProbe(
        { name: "dcn0", ceph: { cluster: "dcn0", transport: { kind: "container", socketPath: socket, container: extra.container } } },
        { timeoutMs: extra.timeoutMs ?? 5000 },
      );

    test("finds ceph-mon-<engine name> and reads the fsid", async () => {
      await using p = probe();
      expect(await p.fsid()).toBe(FSID);
    });

    test("run returns the command as evidence", async () => {
      await using p = probe();
      const r = await p.run(["rbd", "-p", "volumes", "ls", "-l"]);
      expect(r.command).toBe(`docker -H unix://${socket} exec ceph-mon-dcn0 rbd --cluster dcn0 -p volumes ls -l`);
      expect(r.exitCode).toBe(0);
    });

    test("refuses a mutating command before sending it", async () => {
      await using p = probe();
      await expect(p.run(["rbd", "rm", "volumes/x"])).rejects.toThrow(
        /ceph probe dcn0 \(container\): refused `rbd rm volumes\/x`: 'rbd rm volumes\/x' is not a read-only command/,
      );
    });

    test("a non-zero exit names site, transport, command and the redacted stderr tail", async () => {
      await using p = probe();
      const err = await p.run(["rbd", "info", "volumes/leak-exit-2"]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CephCommandError);
      const msg = (err as Error).message;
      expect(msg).toMatch(
        /^ceph probe dcn0 \(container\): `docker -H unix:\/\/\S+ exec ceph-mon-dcn0 rbd --cluster dcn0 info volumes\/leak-exit-2` exited 2: /,
      );
      expect(msg).toContain("rbd: auth failed, key = [REDACTED]");
      expect(msg).not.toContain(KEY);
      expect((await p.run(["rbd", "info", "volumes/exit-2"], { reject: false })).exitCode).toBe(2);
    });

    test("a timeout names the command, the limit and the site", async () => {
      await using p = probe({ timeoutMs: 300 });
      const err = await p.run(["rbd", "info", "volumes/sleep"]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CephTimeoutError);
      expect((err as Error).message).toMatch(
        /^ceph probe dcn0 \(container\): `docker .* rbd --cluster dcn0 info volumes\/sleep` did not finish within 300 ms$/,
      );
    });

    test("exportHead hashes the streamed export whole, or stops once the head is read", async () => {
      await using p = probe();
      const total = EXPORT_CHUNKS * EXPORT_CHUNK.length;
      const expected = createHash("sha512");
      for (let i = 0; i < EXPORT_CHUNKS; i++) expected.update(EXPORT_CHUNK);
      expect(await p.exportHead("images/x@snap", total, { wholeImage: true })).toMatchObject({
        sha512: expected.digest("hex"),
        headBytes: total,
        bytes: total,
      });
      const head = await p.exportHead("images/x@snap", EXPORT_CHUNK.length);
      expect(head).toMatchObject({ sha512: createHash("sha512").update(EXPORT_CHUNK).digest("hex"), headBytes: EXPORT_CHUNK.length });
      expect(head.bytes).toBeLessThan(total);
    });

    test("a wrong container name lists the ceph-mon containers that do run", async () => {
      await using p = probe({ container: "ceph-mon-elsewhere" });
      await expect(p.fsid()).rejects.toThrow(/no running container ceph-mon-elsewhere .*running ceph-mon containers: \/ceph-mon-dcn0/);
    });
  });

  test("the container API over TLS: a client certificate the CA signed gets in, none is refused", async () => {
    const files = await labTlsFiles(join(dir, "tls"));
    const front = await startTlsFront({ socketPath: socket, files });
    const over = (tls: { ca: string; cert?: string; key?: string }) =>
      createCephProbe(
        { name: "dcn0", ceph: { cluster: "dcn0", transport: { kind: "container", host: "127.0.0.1", port: front.port, tls } } },
        { timeoutMs: 5000 },
      );
    try {
      {
        await using p = over({ ca: files.ca, cert: files.clientCert, key: files.clientKey });
        expect(await p.fsid()).toBe(FSID);
        expect((await p.run(["rbd", "ls", "images"])).command).toBe(
          `docker -H tcp://127.0.0.1:${front.port} --tlsverify exec ceph-mon-dcn0 rbd --cluster dcn0 ls images`,
        );
      }
      await using anon = over({ ca: files.ca });
      await expect(anon.fsid()).rejects.toThrow(/ceph probe dcn0 \(container\): .*(certificate|socket hang up|ECONNRESET)/);
      expect(front.refused()).toBeGreaterThan(0);
    } finally {
      await front.stop();
    }
  });
});

describe("docker shim as a standalone process", () => {
  test("serves on --socket and removes it on SIGTERM", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dcnv-shim-proc-"));
    const socket = join(dir, "central.sock");
    const shim = execa("node", ["--import", "tsx", "lab/docker-shim.ts", "--socket", socket, "--site", "central"], {
      cwd: join(import.meta.dirname, ".."),
      reject: false,
    });
    try {
      for (let i = 0; i < 200 && !existsSync(socket); i++) await delay(50);
      const list = await new Docker({ socketPath: socket }).listContainers();
      expect(list[0]?.Names).toEqual(["/ceph-mon-central"]);
      shim.kill("SIGTERM");
      expect((await shim).exitCode).toBe(0);
      expect(existsSync(socket)).toBe(false);
    } finally {
      shim.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);
});
