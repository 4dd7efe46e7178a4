import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { acceptedConnections } from "../../lab/sshd.ts";
import { paths, readState } from "../../lab/state.ts";
import { labConfigWith, runHarness, testOf } from "../e2e/testing.ts";

// Run after 'dcn-verify lab up --profile field' (scripts/test.sh does it, with two edges, after the other lab tests).
type LabSite = { name: string; ceph: { transport: { kind: string; prefix?: string[] }; pools?: Record<string, unknown> } };
const lab = () => parse(readFileSync(paths().config, "utf8")) as { central: LabSite; edges: LabSite[] };

describe("the field profile: shared client.openstack, Ceph over ssh with sudo, stock Glance filter, default quotas", () => {
  test("the lab is the field's shape, and its config says so", () => {
    expect(readState()?.profile).toBe("field");
    const cfg = lab();
    for (const s of [cfg.central, ...cfg.edges]) {
      expect(s.ceph.transport.kind, s.name).toBe("ssh");
      expect(s.ceph.transport.prefix).toEqual(["sudo", "-n"]);
    }
    const first = cfg.edges[0]!;
    expect(first.ceph.pools).toMatchObject({ backups: false });
    expect(cfg.edges.at(-1)!.ceph.pools).toMatchObject({ images: "glance-images", volumes: "cinder-volumes" });
  });

  test("dcn-verify run --tier disruptive passes every site, with the rbd evidence read over ssh and client.openstack judged right", async () => {
    const log = join(paths().root, "sshd", "field", "sshd.log");
    const before = acceptedConnections(log);
    const edges = lab().edges.length;
    // NOTE: with one edge, copy-image to all stores (ms-11) has nothing to copy: that test alone may stay not verified.
    const run = await runHarness(["--tier", "disruptive", ...(edges === 1 ? ["--allow-not-verified"] : [])]);
    expect(run.exitCode, run.output).toBe(0);
    for (const s of run.summary.sites) {
      expect(s.status, `${s.site}: ${JSON.stringify(s.tests.filter((t) => t.status !== "passed"))}`).toBe("passed");
      expect(testOf(run, s.site, "conf-4-ceph-caps").status).toBe("passed");
      const open = s.tests.filter((t) => t.status !== "passed" || t.notVerified?.length);
      expect(
        open.map((t) => `${t.id}: ${t.notVerified?.join("; ")}`),
        s.site,
      ).toEqual(
        edges === 1 && s.site === "central"
          ? [expect.stringMatching(/^ms-11-copy-all-stores: image \S+ is already in every store \(central, \S+\): with 1 edge\(s\)/)]
          : [],
      );
    }
    const edge = lab().edges.at(-1)!.name;
    expect(run.output).toContain(`[${edge}] ✔ run rbd -p cinder-volumes ls -l on ${edge}'s cluster`);
    expect(run.output).toMatch(new RegExp(`\\[${edge}\\] ✔ volume-\\S+ has parent glance-images/`));
    // The first edge has no backups pool: conf-14 does not apply there.
    expect(run.summary.sites.find((s) => s.site === lab().edges[0]!.name)!.tests.map((t) => t.id)).not.toContain("conf-14-cinder-backup");
    // One ssh connection per site's probe (ControlMaster), not one per command.
    const connections = acceptedConnections(log) - before;
    expect(connections).toBeGreaterThan(0);
    expect(connections).toBeLessThan(40);
  });

  test("with every site's transport none, the Ceph checks are not verified and the run exits 0, as the README says", async () => {
    const cfg = lab();
    const none = (s: LabSite) => ({ ...s, ceph: { ...s.ceph, transport: { kind: "none", reason: "external Ceph" } } });
    const file = labConfigWith({ central: none(cfg.central), edges: cfg.edges.map(none) });
    const edge = cfg.edges[0]!.name;
    const run = await runHarness(["--config", file, "--sites", `central,${edge}`, "--tests", "dcn-5,conf-4"], { asTyped: true });
    expect(run.exitCode, run.output).toBe(0);
    for (const id of ["dcn-5-rbd-parent", "conf-4-ceph-caps"]) {
      const t = testOf(run, edge, id);
      expect(t.status, id).toBe("skipped");
      expect(t.notVerified?.join("\n"), id).toMatch(/no Ceph access \(ceph\.transport\.kind none: external Ceph\)/);
    }
  });
});
