import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { configSchema, type Site } from "../config/schema.ts";
import { validConfig } from "../config/testing.ts";
import { checkReach, formatReach, isUnreachable, judgeReach, recheckReach } from "./reach.ts";

const A = "0b3c9f0e-8a4c-4d7e-9f5e-2c1d3a4b5c6d";
const B = "7f1e2d3c-4b5a-4968-8776-655443322110";
const site = (name: string, fsid?: string): Site =>
  ({ name, az: name, store: name, ceph: { cluster: name, transport: { kind: "local" }, ...(fsid ? { fsid } : {}) } }) as Site;

describe("which cluster each site's probe reached", () => {
  test("a pinned fsid that matches is ok; an unpinned one is ok when no other site reached it", () => {
    const r = judgeReach([
      { site: site("central", A), fsid: A, ms: 5 },
      { site: site("dcn0"), fsid: B, ms: 5 },
    ]);
    expect(r.central).toMatchObject({ state: "ok", pinned: true });
    expect(r.dcn0).toMatchObject({ state: "ok", pinned: false });
  });

  test("a probe that reaches another site's cluster is named with both fsids; the other site stays ok", () => {
    const r = judgeReach([
      { site: site("central", A), fsid: A, ms: 5 },
      { site: site("dcn0", B), fsid: A, ms: 5 },
    ]);
    expect(r.central.state).toBe("ok");
    expect(r.dcn0).toMatchObject({ state: "wrong-cluster", fsid: A, expected: B });
    expect(r.dcn0.state !== "ok" && r.dcn0.reason).toContain(
      `reached Ceph cluster ${A} (central's pinned cluster), not dcn0's pinned cluster ${B}`,
    );
  });

  test("two unpinned sites on one cluster are both refused; a site that does not answer is unreachable", () => {
    const r = judgeReach([
      { site: site("dcn0"), fsid: A, ms: 5 },
      { site: site("dcn1"), fsid: A, ms: 5 },
      { site: site("dcn2"), failure: { kind: "timeout", command: "ceph --cluster dcn2 fsid --format json", timeoutMs: 30000 }, ms: 30000 },
    ]);
    expect(r.dcn0.state).toBe("wrong-cluster");
    expect(r.dcn1.state !== "ok" && r.dcn1.reason).toContain("the same cluster as dcn0");
    expect(r.dcn2.state !== "ok" && r.dcn2.reason).toBe(
      "its Ceph cluster dcn2 did not answer `ceph fsid` within 30.0 s: `ceph --cluster dcn2 fsid --format json` timed out",
    );
  });
});

describe("a site the runner has no access to (transport none)", () => {
  test("is not asked, and is reported as having no Ceph access: neither unreachable nor a wrong cluster", async () => {
    const none = (name: string) => ({
      name,
      az: name,
      store: name,
      ceph: { cluster: name, transport: { kind: "none", reason: "external Ceph" } },
    });
    const cfg = configSchema.parse({ ...validConfig(), central: none("central"), edges: [none("dcn0")], timeouts: { cephReach: 1 } });
    const started = Date.now();
    const r = await checkReach(cfg);
    expect(Date.now() - started).toBeLessThan(500);
    expect(r.dcn0).toEqual({ site: "dcn0", state: "no-access", reason: "no Ceph access (ceph.transport.kind none: external Ceph)", ms: 0 });
    expect(isUnreachable(r.dcn0)).toBe(false);
    expect(formatReach(r)).toEqual([
      "[central] no Ceph access (ceph.transport.kind none: external Ceph): not asked; its Ceph checks will be reported as not verified",
      "[dcn0] no Ceph access (ceph.transport.kind none: external Ceph): not asked; its Ceph checks will be reported as not verified",
    ]);
  });
});

describe("a site whose fsid is pinned but which the runner cannot ask (transport none)", () => {
  test("its pinned fsid still names its cluster: another site answering as that cluster is refused, naming it", () => {
    const ext = { ...site("central", A), ceph: { cluster: "central", fsid: A, transport: { kind: "none" } } } as Site;
    const r = judgeReach([{ site: site("dcn0"), fsid: A, ms: 5 }], [ext, site("dcn0")]);
    expect(r.dcn0).toMatchObject({ state: "wrong-cluster", fsid: A });
    expect(r.dcn0!.state !== "ok" && r.dcn0!.reason).toBe(`the probe reached Ceph cluster ${A} (central's pinned cluster)`);
  });
});

// NOTE: stderr recorded from the lab's ceph 16.2.15: `ceph --cluster nosuch fsid --format json` with no nosuch.conf.
const CONF_READ_FILE = "Error initializing cluster client: ObjectNotFound('RADOS object not found (error calling conf_read_file)')";

describe("what the reach check says when `ceph fsid` gives no fsid", () => {
  let dir: string;
  let docker: Server;
  // The probe's local transport runs `<stub> ceph --cluster <name> fsid --format json`; the cluster name picks the answer.
  const stub = () => join(dir, "stub");
  const local = (name: string, fsid?: string): Site =>
    ({
      name,
      az: name,
      store: name,
      ceph: { cluster: name, transport: { kind: "local", prefix: [stub()] }, ...(fsid ? { fsid } : {}) },
    }) as Site;
  const cfgWith = (sites: Site[], cephReach = 1) =>
    configSchema.parse({ ...validConfig(), central: sites[0], edges: sites.slice(1), timeouts: { cephReach } });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "dcnv-reach-"));
    writeFileSync(
      stub(),
      `#!/bin/sh
[ -e "${"$"}(dirname "$0")/down" ] && exec sleep 10
case "$*" in
  *"--cluster nosuch "*) echo "${CONF_READ_FILE}" >&2; exit 1;;
  *"--cluster slow "*) exec sleep 10;;
  *"--cluster other "*) echo '{"fsid":"${B}"}';;
  *) echo '{"fsid":"${A}"}';;
esac
`,
    );
    chmodSync(stub(), 0o755);
    // A container API that refuses every call, as an authorization plugin does.
    docker = createServer((_req, res) => {
      res.writeHead(403, { "content-type": "application/json" });
      res.end(JSON.stringify({ message: "authorization denied by plugin dcnv-authz: read-only" }));
    });
    await new Promise<void>((resolve) => docker.listen(join(dir, "docker.sock"), resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => docker.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  test("a command that exits with an error is reported as an error, with the command and the error's first line, not as a timeout", async () => {
    const r = await checkReach(cfgWith([local("central", A), local("nosuch")]));
    expect(r.nosuch!.state).toBe("unreachable");
    expect(r.nosuch!.state === "unreachable" && r.nosuch!.reason).toMatch(
      new RegExp(
        `^\`ceph fsid\` for its Ceph cluster nosuch errored after \\d+\\.\\d s: \`\\S+/stub ceph --cluster nosuch fsid --format json\` exited 1: ${CONF_READ_FILE.replace(/[()]/g, "\\$&")}$`,
      ),
    );
    expect(r.nosuch!.state === "unreachable" && r.nosuch!.reason).not.toMatch(/did not answer/);
  });

  test("a command that does not finish is reported as a timeout, with the limit of timeouts.cephReach", async () => {
    const r = await checkReach(cfgWith([local("central", A), local("slow")], 0.5));
    expect(r.slow!.state === "unreachable" && r.slow!.reason).toMatch(
      /^its Ceph cluster slow did not answer `ceph fsid` within 0\.5 s: `\S+\/stub ceph --cluster slow fsid --format json` timed out$/,
    );
  });

  test("a container API that answers HTTP 403 is reported as refused, with the API's message", async () => {
    const refused = {
      name: "dcn0",
      az: "dcn0",
      store: "dcn0",
      ceph: { cluster: "dcn0", transport: { kind: "container", socketPath: join(dir, "docker.sock") } },
    } as Site;
    const r = await checkReach(cfgWith([local("central", A), refused]));
    expect(r.dcn0!.state === "unreachable" && r.dcn0!.reason).toMatch(
      /^`ceph fsid` for its Ceph cluster dcn0 was refused after \d+\.\d s: `ceph --cluster dcn0 fsid --format json`: .*HTTP code 403.*authorization denied by plugin dcnv-authz: read-only/,
    );
  });

  test("asked again after a timeout: ok when it answers as the known cluster, unreachable or another cluster otherwise", async () => {
    const cfg = cfgWith([local("central", A), local("slow"), local("other")], 0.5);
    expect(await recheckReach(cfg, local("central", A), A)).toMatchObject({ state: "ok", fsid: A });
    expect(await recheckReach(cfg, local("slow"), undefined)).toMatchObject({ state: "unreachable" });
    const moved = await recheckReach(cfg, local("other"), A);
    expect(moved).toMatchObject({ state: "wrong-cluster", fsid: B, expected: A });
    expect(moved.state === "wrong-cluster" && moved.reason).toBe(
      `the probe reached Ceph cluster ${B}, not other's cluster ${A} found before the first test`,
    );
  });
});
