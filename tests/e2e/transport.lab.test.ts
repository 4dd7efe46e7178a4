import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parse, stringify } from "yaml";
import { createCephProbe } from "../../helpers/ceph/probe.ts";
import { cephTransportSchema } from "../../helpers/config/schema.ts";
import { dockerSocket } from "../../lab/index.ts";
import { type Sshd, startSshd } from "../../lab/sshd.ts";
import { paths, readState } from "../../lab/state.ts";
import { labTlsFiles, startTlsFront } from "../../lab/tls-front.ts";
import { cli, runHarness } from "./testing.ts";

// Each site's Ceph reached the ways a field cloud is reached: ssh (with a prefix, through a jump host), the container
// API over TLS, and not at all. Only read-only commands run; the sshd servers are this file's own, under .lab/sshd/.
const state = readState()!;
const fsidOf = (site: string) => state.ceph[site]!.fsid;
let target: Sshd;
let jump: Sshd;

beforeAll(async () => {
  [target, jump] = await Promise.all([
    startSshd({ stateDir: join(paths().root, "sshd", "transport-test-target") }),
    startSshd({ stateDir: join(paths().root, "sshd", "transport-test-jump") }),
  ]);
});

afterAll(async () => {
  await Promise.all([target?.stop(), jump?.stop()]);
});

const probe = (name: string, transport: Record<string, unknown>, extra: { user?: string; conf?: string; keyring?: string } = {}) =>
  createCephProbe({ name, ceph: { cluster: name, transport: cephTransportSchema.parse(transport), ...extra } }, { timeoutMs: 60_000 });
const overSsh = () => ({
  kind: "ssh",
  host: "127.0.0.1",
  port: target.port,
  user: "root",
  identityFile: target.identityFile,
  knownHostsFile: target.knownHostsFile,
});
const hostRbdLs = async (site: string, pool: string) =>
  (await execa("rbd", ["--cluster", site, "ls", pool])).stdout.split("\n").filter(Boolean).sort();

describe("Ceph access for real layouts, against the lab's clusters", { timeout: 300_000 }, () => {
  test("ssh with a sudo prefix runs rbd and ceph on the host with the site's id, conf and keyring, over one connection", async () => {
    const before = target.connections();
    await using p = probe(
      "dcn0",
      { ...overSsh(), prefix: ["sudo", "-n"] },
      { user: "admin", conf: "/etc/ceph/dcn0.conf", keyring: "/etc/ceph/dcn0.client.admin.keyring" },
    );
    expect(await p.fsid()).toBe(fsidOf("dcn0"));
    const [images, volumes] = await Promise.all([p.rbdList("images"), p.rbdList("volumes"), p.rbdListText("vms")]);
    expect([...new Set(images.map((e) => e.image))].sort()).toEqual(await hostRbdLs("dcn0", "images"));
    expect([...new Set(volumes.map((e) => e.image))].sort()).toEqual(await hostRbdLs("dcn0", "volumes"));
    const r = await p.run(["rbd", "ls", "images"]);
    expect(r.command).toBe(
      `ssh -p ${target.port} -i ${target.identityFile} root@127.0.0.1 ` +
        `'sudo -n rbd --cluster dcn0 --id admin --conf /etc/ceph/dcn0.conf --keyring /etc/ceph/dcn0.client.admin.keyring ls images'`,
    );
    expect(r.stdout.split("\n").filter(Boolean).sort()).toEqual(await hostRbdLs("dcn0", "images"));
    expect(target.connections() - before).toBe(1);
  });

  test("ssh through a jump host reaches central's cluster, one connection to each", async () => {
    const known = join(mkdtempSync(join(tmpdir(), "dcnv-kh-")), "known_hosts");
    writeFileSync(known, readFileSync(target.knownHostsFile, "utf8") + readFileSync(jump.knownHostsFile, "utf8"));
    const [t0, j0] = [target.connections(), jump.connections()];
    await using p = probe("central", {
      ...overSsh(),
      knownHostsFile: known,
      jumpHost: { host: "127.0.0.1", port: jump.port, user: "root", identityFile: jump.identityFile },
      prefix: ["env", "LC_ALL=C"],
    });
    expect(await p.fsid()).toBe(fsidOf("central"));
    expect((await p.status()).fsid).toBe(fsidOf("central"));
    expect([target.connections() - t0, jump.connections() - j0]).toEqual([1, 1]);
  });

  test("the container API over TLS reaches dcn1's ceph-mon container; without a client certificate it is refused", async () => {
    const files = await labTlsFiles(join(paths().root, "tls", "transport-test"));
    const front = await startTlsFront({ socketPath: dockerSocket("dcn1"), files });
    const tls = { ca: files.ca, cert: files.clientCert, key: files.clientKey };
    try {
      {
        await using p = probe("dcn1", { kind: "container", host: "127.0.0.1", port: front.port, tls, container: "ceph-mon-dcn1" });
        expect(await p.fsid()).toBe(fsidOf("dcn1"));
        expect(
          (await p.rbdList("images"))
            .map((e) => e.image)
            .filter((v, i, a) => a.indexOf(v) === i)
            .sort(),
        ).toEqual(await hostRbdLs("dcn1", "images"));
      }
      await using anon = probe("dcn1", { kind: "container", host: "127.0.0.1", port: front.port, tls: { ca: files.ca } });
      await expect(anon.fsid()).rejects.toThrow(/ceph probe dcn1 \(container\)/);
      expect(front.refused()).toBeGreaterThan(0);
    } finally {
      await front.stop();
    }
  });

  test("the container API over ssh:// (dockerode's ssh protocol) reaches dcn0's ceph-mon container, the host key checked", async () => {
    // NOTE: the forced command stands in for `docker system dial-stdio`, which dockerode runs on the engine host.
    const engine = await startSshd({
      stateDir: join(paths().root, "sshd", "transport-test-engine"),
      forcedCommand: `socat - UNIX-CONNECT:${dockerSocket("dcn0")}`,
    });
    try {
      const url = `ssh://root@127.0.0.1:${engine.port}`;
      {
        await using p = probe("dcn0", { kind: "container", url, identityFile: engine.identityFile, knownHostsFile: engine.knownHostsFile });
        expect(await p.fsid()).toBe(fsidOf("dcn0"));
        expect((await p.run(["rbd", "ls", "images"])).command).toBe(`docker -H ${url} exec ceph-mon-dcn0 rbd --cluster dcn0 ls images`);
      }
      await using stranger = probe("dcn0", {
        kind: "container",
        url,
        identityFile: engine.identityFile,
        knownHostsFile: jump.knownHostsFile,
      });
      await expect(stranger.fsid()).rejects.toThrow(/ceph probe dcn0 \(container\): .*(verification|Handshake failed)/i);
    } finally {
      await engine.stop();
    }
  });

  test("none: doctor and the run say no Ceph access; the Ceph checks are not verified and the API checks pass", async () => {
    const cfg = parse(readFileSync(paths().config, "utf8")) as { edges: { name: string; ceph: Record<string, unknown> }[] };
    const dcn1 = cfg.edges.find((e) => e.name === "dcn1")!;
    dcn1.ceph.transport = { kind: "none", reason: "the lab test's external Ceph" };
    const file = join(mkdtempSync(join(tmpdir(), "dcnv-none-")), "dcn-verify.yaml");
    writeFileSync(file, stringify(cfg), { mode: 0o600 });

    const doctor = await cli(["doctor", "--config", file]);
    expect(doctor.all).toMatch(/ceph dcn1.*no Ceph access \(ceph\.transport\.kind none: the lab test's external Ceph\)/);

    const run = await runHarness(["--config", file, "--sites", "dcn1", "--suites", "conformance", "--tier", "read-only"]);
    expect(run.output).toContain(
      "[dcn1] no Ceph access (ceph.transport.kind none: the lab test's external Ceph): not asked; its Ceph checks will be reported as not verified",
    );
    const tests = run.summary.sites.find((s) => s.site === "dcn1")!.tests;
    const shown = JSON.stringify(tests, null, 1);
    for (const id of ["conf-1-ceph-health", "conf-2-ceph-pools", "conf-3-ceph-image-snapshots", "conf-4-ceph-caps"])
      expect(
        tests.find((t) => t.id === id),
        shown,
      ).toMatchObject({
        status: "skipped",
        notVerified: ["no Ceph access (ceph.transport.kind none: the lab test's external Ceph)"],
      });
    expect(tests.find((t) => t.id === "conf-5-cinder-backend")?.status, shown).toBe("passed");
    expect(
      tests.filter((t) => t.status === "failed" && /ceph|unreachable/i.test(t.failure ?? "")),
      shown,
    ).toEqual([]);
    expect(run.output).not.toMatch(/\[dcn1\] site unreachable/);
  });
});
