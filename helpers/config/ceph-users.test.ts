import { describe, expect, test } from "vitest";
import { loadConfig } from "./load.ts";
import { sitePools } from "./pools.ts";
import { GUIDE_CEPH_USERS } from "./schema.ts";
import { configError as configErrorIn, configFolder, testSite, validConfig } from "./testing.ts";

const folder = configFolder();
const load = (cfg: object) => loadConfig(folder.write("dcn-verify.yaml", cfg));
const configError = (cfg: object) => configErrorIn(folder.write, cfg);

describe("conformance.cephUsers and per-site pools", () => {
  test("the default is the guide's three users with the guide's caps", async () => {
    const cfg = await load(validConfig());
    expect(cfg.conformance.cephUsers).toEqual(GUIDE_CEPH_USERS);
    expect(cfg.conformance.cephUsers.map((u) => u.user)).toEqual(["client.glance", "client.cinder", "client.cinder-backup"]);
  });

  test("the earlier map of names is read as the guide's caps under those names", async () => {
    const cfg = await load({ ...validConfig(), conformance: { cephUsers: { cinder: "client.volumes" } } });
    expect(cfg.conformance.cephUsers.map((u) => [u.user, u.needs.map((n) => `${n.pool} ${n.access}`)])).toEqual([
      ["client.glance", ["images rwx"]],
      ["client.volumes", ["volumes rwx", "vms rwx", "images r"]],
      ["client.cinder-backup", ["backups rwx"]],
    ]);
  });

  test("a shared user is a list entry with every pool it serves", async () => {
    const openstack = {
      user: "client.openstack",
      needs: [
        { pool: "images", access: "rwx" },
        { pool: "volumes", access: "rwx" },
        { pool: "vms", access: "rwx" },
      ],
    };
    const cfg = await load({ ...validConfig(), conformance: { cephUsers: [openstack] } });
    expect(cfg.conformance.cephUsers).toEqual([openstack]);
  });

  test("a bad entry is named by its field, not by the other form's type", async () => {
    const err = await configError({
      ...validConfig(),
      conformance: {
        cephUsers: [
          { user: "openstack", needs: [{ pool: "image", access: "rwx" }] },
          { user: "client.x", needs: [{ pool: "vms", access: "rw" }] },
        ],
      },
    });
    expect(err.issues.map((i) => i.path)).toEqual([
      "conformance.cephUsers[0].user",
      "conformance.cephUsers[0].needs[0].pool",
      "conformance.cephUsers[1].needs[0].access",
    ]);
    expect(err.issues[0]!.message).toBe("a cephx client name, client.<id>");
    const old = await configError({ ...validConfig(), conformance: { cephUsers: { glance: "client.glance", nova: "client.nova" } } });
    expect(old.issues).toEqual([{ path: "conformance.cephUsers.nova", message: "unknown field" }]);
  });

  test("a site's pools override the cloud-wide names; backups: false means none", async () => {
    const cfg = await load({
      ...validConfig(),
      rbd: { imagesPool: "glance-images" },
      edges: [
        testSite("dcn0", { ceph: { cluster: "dcn0", transport: { kind: "local" }, pools: { volumes: "cinder-dcn0", backups: false } } }),
        testSite("dcn1"),
      ],
    });
    expect(sitePools(cfg, cfg.edges[0]!)).toEqual({ images: "glance-images", volumes: "cinder-dcn0", vms: "vms" });
    expect(sitePools(cfg, cfg.edges[1]!)).toEqual({ images: "glance-images", volumes: "volumes", vms: "vms", backups: "backups" });
    const err = await configError({
      ...validConfig(),
      edges: [testSite("dcn0", { ceph: { cluster: "dcn0", transport: { kind: "local" }, pools: { backups: true } } })],
    });
    expect(err.issues.map((i) => i.path)).toEqual(["edges[0].ceph.pools.backups"]);
  });
});
