import { describe, expect, test } from "vitest";
import { configSchema } from "../config/schema.ts";
import { testSite, validConfig } from "../config/testing.ts";
import { notApplicable } from "./catalog.ts";

const BACKUP_TESTS = ["conf-14-cinder-backup", "canary-plant-backup", "canary-backup", "canary-backup-restore"];
const parse = (o: Record<string, unknown>) => configSchema.parse({ ...validConfig(), ...o });

describe("the backup tests at a site follow the backups target the config names", () => {
  test("no backups at all (backupsSite: false): they run, and end not verified with the reason", () => {
    const cfg = parse({ distribution: "osp17", conformance: { backupsSite: false } });
    for (const id of BACKUP_TESTS) expect(notApplicable(id, cfg, "central"), id).toBeUndefined();
  });

  test("backups at central (a distribution's default): an edge with a cinder-backup in its AZ but no pool takes them", () => {
    const cfg = parse({ distribution: "rhoso18", conformance: { backupSites: ["central", "dcn0"] } });
    for (const id of BACKUP_TESTS) expect(notApplicable(id, cfg, "dcn0"), id).toBeUndefined();
  });

  test("only central's volumes are backed up under a distribution (conformance.backupSites): not applicable at the edges", () => {
    for (const d of ["osp17", "rhoso18", "kolla"]) {
      const cfg = parse({ distribution: d });
      expect(cfg.conformance.backupSites, d).toEqual(["central"]);
      for (const id of BACKUP_TESTS) {
        expect(notApplicable(id, cfg, "central"), d).toBeUndefined();
        expect(notApplicable(id, cfg, "dcn0"), d).toBe(
          "dcn0's volumes are not backed up: Cinder schedules a backup in its volume's AZ, and only central runs cinder-backup (conformance.backupSites)",
        );
      }
    }
    expect(parse({}).conformance.backupSites).toBeUndefined();
    expect(notApplicable("conf-14-cinder-backup", parse({}), "dcn0")).toBeUndefined();
  });

  test("the site's own pool, where it has none: not applicable there", () => {
    const cfg = parse({
      edges: [testSite("dcn0", { ceph: { cluster: "dcn0", transport: { kind: "local" }, pools: { backups: false } } })],
    });
    expect(notApplicable("canary-backup", cfg, "dcn0")).toBe("dcn0 has no backups pool (its ceph.pools.backups is false)");
    expect(notApplicable("conf-2-ceph-pools", cfg, "dcn0")).toBeUndefined();
  });
});
