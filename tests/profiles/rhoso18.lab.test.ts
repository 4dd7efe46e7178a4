import { describe, expect, test } from "vitest";
import { cephadmCommands } from "../../lab/cephadm.ts";
import { edgeGlancePort } from "../../lab/services/glance.ts";
import { testOf, withFault } from "../e2e/testing.ts";
import { notPlainPasses, notReads, passingGuide, requireProfile, runExample } from "./profile.ts";

// Run after 'dcn-verify lab up --profile rhoso18 --edges 1' (scripts/test.sh).
describe("profile rhoso18: RHOSO 18.0 DCN, examples/rhoso18-dcn.yaml as shipped", () => {
  test("the lab is RHOSO's shape: sites az0…, an edge Glance API per edge that Keystone does not list", async () => {
    const { sites, state } = requireProfile("rhoso18");
    expect(sites).toEqual(["az0", "az1"]);
    expect(state.sshd?.user).toBe("cloud-admin");
    for (const edge of sites.slice(1)) {
      const r = await fetch(`http://127.0.0.1:${edgeGlancePort(sites, edge)}/versions`);
      expect(r.status, edge).toBe(200);
    }
  });

  test("the guide's commands as written: discover, doctor, a read-only run and the standard tier, each edge's Glance API checked", async () => {
    const before = cephadmCommands().length;
    const { readOnly, standard } = await passingGuide("rhoso18");
    expect(notPlainPasses(readOnly)).toEqual([]);
    for (const edge of ["az1"]) expect(testOf(standard, edge, "dcn-3b-edge-glance").status, edge).toBe("passed");
    expect(notPlainPasses(standard).sort()).toEqual([
      expect.stringMatching(/^az0 conf-10-glance-metadef-policy: skipped \(no conformance\.nonAdminCloud in the config/),
      expect.stringMatching(/^az0 conf-9-glance-locations-exposure: skipped \(no conformance\.nonAdminCloud in the config/),
      expect.stringMatching(
        /^az0 ms-11-copy-all-stores: skipped \(image \S+ is already in every store .*with 1 edge\(s\) there is nothing/,
      ),
    ]);
    const sent = cephadmCommands().slice(before);
    expect(sent.length).toBeGreaterThan(10);
    expect(notReads(sent.map((c) => c.command))).toEqual([]);
    expect(new Set(sent.map((c) => c.user))).toEqual(new Set(["cloud-admin"]));
  });

  test("fault edge-glance-default-central: az1's Glance API defaults to az0's store, and dcn-3b fails naming it", async () => {
    await withFault("az1", "edge-glance-default-central", async () => {
      const run = await runExample("rhoso18", ["--sites", "az1", "--tests", "dcn-3-copy-to-edge,dcn-3b-edge-glance"]);
      expect(run.exitCode, run.output).toBe(1);
      const t = testOf(run, "az1", "dcn-3b-edge-glance");
      expect(t.status).toBe("failed");
      expect(t.failure).toMatch(/az1's Glance API http:\/\/127\.0\.0\.1:\d+ reports default store az0, expected az1/);
    });
  });
});
