import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import Docker from "dockerode";
import { describe, expect, test } from "vitest";
import { dockerSocket } from "../../lab/index.ts";
import { labSites } from "../../lab/profiles/index.ts";
import { paths, REPO_ROOT, readState } from "../../lab/state.ts";
import { STOCK_EVIDENCE } from "./fault-evidence.ts";
import { cli, stock, withFault } from "./testing.ts";

const sites = labSites(readState() ?? { edges: 2 });
const edge = sites[sites.length - 1];

describe("the embedded lab", () => {
  test("lab status reports every site up, and a second lab up is quick", async () => {
    const t0 = Date.now();
    const up = await cli(["lab", "up"]);
    expect(up.exitCode, up.all).toBe(0);
    expect(Date.now() - t0).toBeLessThan(30000);
    const st = await cli(["lab", "status"]);
    expect(st.exitCode, st.all).toBe(0);
    for (const s of sites) expect(st.stdout).toMatch(new RegExp(`^${s}\\s+HEALTH_OK\\s+up\\s+up\\s+up$`, "m"));
  });

  test("secrets and the client config are private to root", () => {
    for (const f of [paths().secrets, paths().cloudsYaml, paths().config]) expect(statSync(f).mode & 0o077, f).toBe(0);
  });

  test("the stock clients agree: stores, AZs and rbd", async () => {
    const stores = await stock("glance", ["stores-info"]);
    expect(stores.exitCode, stores.stderr).toBe(0);
    const flat = stores.stdout.replace(/[|\s]+/g, " ");
    expect(flat).toContain(`"id": "central", "description": "central rbd glance store", "default": "true"`);
    for (const s of sites.slice(1)) expect(stores.stdout).toContain(`"id": "${s}"`);
    for (const kind of ["--compute", "--volume"]) {
      const az = await stock("openstack", ["availability", "zone", "list", kind, "-f", "value", "-c", "Zone Name"]);
      expect(az.exitCode, az.stderr).toBe(0);
      for (const s of sites) expect(az.stdout.split("\n")).toContain(s);
    }
    const rbd = await stock("rbd", ["--cluster", "dcn0", "-p", "volumes", "ls", "-l"]);
    expect(rbd.exitCode, rbd.stderr).toBe(0);
  });

  test("dockerode lists ceph-mon-dcn0 and runs read-only rbd in it; a mutating command is refused", async () => {
    const docker = new Docker({ socketPath: dockerSocket("dcn0") });
    const containers = await docker.listContainers();
    expect(containers.map((c) => c.Names[0])).toContain("/ceph-mon-dcn0");
    const run = async (Cmd: string[]) => {
      const exec = await docker.getContainer("ceph-mon-dcn0").exec({ Cmd, AttachStdout: true, AttachStderr: true });
      const stream = await exec.start({});
      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on("data", (d: Buffer) => chunks.push(d));
      docker.modem.demuxStream(stream, out, new PassThrough());
      await new Promise((r) => stream.on("end", r));
      return { stdout: Buffer.concat(chunks).toString(), exitCode: (await exec.inspect()).ExitCode };
    };
    const r = await run(["rbd", "-p", "volumes", "ls", "-l", "--format", "json"]);
    expect(r.exitCode).toBe(0);
    const local = await stock("rbd", ["--cluster", "dcn0", "-p", "volumes", "ls", "-l", "--format", "json"]);
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(local.stdout));
    await expect(docker.getContainer("ceph-mon-dcn0").exec({ Cmd: ["rbd", "rm", "volumes/x"], AttachStdout: true })).rejects.toThrow(
      /refused/,
    );
  });

  test("a fault shows in lab status until lab heal brings everything back", async () => {
    // withFault checks the fault through the stock clients (fault-evidence.ts) before the callback runs.
    await withFault(edge, "az-mismatch", async () => {
      const st = await cli(["lab", "status"]);
      expect(st.exitCode).toBe(1);
      expect(st.stdout).toContain(`active faults: az-mismatch@${edge}`);
      // A lab with a fault is not reshaped to the other profile: refused, naming the fault, before anything stops.
      const reshape = await cli(["lab", "up", "--profile", "osp17"]);
      expect(reshape.exitCode, reshape.all).not.toBe(0);
      expect(reshape.all).toContain(`the lab is up with profile standard, not osp17, and has faults (az-mismatch at ${edge})`);
      expect(readState()?.profile ?? "standard").toBe("standard");
    });
    const st = await cli(["lab", "status"]);
    expect(st.exitCode, st.all).toBe(0);
    expect(st.stdout).not.toContain("active faults");
  });

  test("every fault with stock-client evidence is applied by some lab test through withFault, which checks it", () => {
    const dir = join(REPO_ROOT, "tests", "e2e");
    const sources = readdirSync(dir)
      .filter((f) => f.endsWith(".lab.test.ts"))
      .map((f) => readFileSync(join(dir, f), "utf8"))
      .join("\n");
    const applied = new Set([...sources.matchAll(/withFault\(\s*[^,]+,\s*"([a-z-]+)"/g)].map((m) => m[1]));
    expect(Object.keys(STOCK_EVIDENCE).filter((k) => !applied.has(k))).toEqual([]);
  });

  test("the config the lab writes names every site with its Docker API socket", () => {
    const cfg = readFileSync(paths().config, "utf8");
    for (const s of sites) {
      expect(cfg).toContain(`name: ${s}`);
      expect(existsSync(dockerSocket(s))).toBe(true);
    }
  });
});
