import { existsSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { kollaCinderKeyring, kollaConf } from "../../lab/kolla-config.ts";
import { testOf } from "../e2e/testing.ts";
import { notPlainPasses, passingGuide, requireProfile } from "./profile.ts";

// Run after 'dcn-verify lab up --profile kolla --edges 1' (scripts/test.sh).
describe("profile kolla: kolla-ansible with a Ceph cluster per AZ, examples/kolla-multi-ceph.yaml as shipped", () => {
  test("the lab is kolla's shape: stores <cluster>-rbd, the deploy host's conf and cinder keyring under /etc/kolla/config", () => {
    const { sites, def } = requireProfile("kolla");
    expect(sites.map(def.store)).toEqual(["central-rbd", "dcn0-rbd"]);
    for (const s of sites) {
      expect(existsSync(kollaConf(s)), kollaConf(s)).toBe(true);
      expect(existsSync(kollaCinderKeyring(s)), kollaCinderKeyring(s)).toBe(true);
    }
  });

  test("the guide's commands as written: rule-1 passes with store ≠ AZ, and what client.cinder may not read is not verified", async () => {
    const { standard } = await passingGuide("kolla");
    for (const s of ["dcn0"]) expect(testOf(standard, s, "rule-1-same-names").status, s).toBe("passed");
    // The deploy host has cinder's keyring, not the admin's: conf-4 cannot read the users' caps, nor conf-14 the backups pool, and each says so; the policy
    // checks have no non-admin credential in the example.
    expect(notPlainPasses(standard).sort()).toEqual([
      expect.stringMatching(/^central conf-10-glance-metadef-policy: skipped \(no conformance\.nonAdminCloud in the config/),
      expect.stringMatching(/^central conf-14-cinder-backup: \w+ \(.*client\.cinder\) may not list pool backups at central/),
      expect.stringMatching(/^central conf-4-ceph-caps: skipped \(the probe's cephx user \(client\.cinder\) may not read caps: .*EACCES/),
      expect.stringMatching(/^central conf-9-glance-locations-exposure: skipped \(no conformance\.nonAdminCloud in the config/),
      expect.stringMatching(
        /^central ms-11-copy-all-stores: skipped \(image \S+ is already in every store .*with 1 edge\(s\) there is nothing/,
      ),
      expect.stringMatching(/^dcn0 conf-4-ceph-caps: skipped \(the probe's cephx user \(client\.cinder\) may not read caps: .*EACCES/),
    ]);
  });
});
