import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { sitePools } from "../config/pools.ts";
import { type CephUser, configSchema, GUIDE_CEPH_USERS } from "../config/schema.ts";
import { type CapsRead, judgeCaps, judgeCephUsers, judgeMonCaps, osdGrants, readAuthGet, usersAt } from "./conformance.ts";

const AUTH = join(import.meta.dirname, "../../fixtures/ceph/auth");
const fixture = (name: string) => readFileSync(join(AUTH, name), "utf8");
/** `ceph auth get <entity>` as the probe returns it: the recorded stdout or stderr with its exit code. */
const answered = (entity: string, file: string): CapsRead =>
  file.endsWith(".json")
    ? readAuthGet({ stdout: fixture(file), stderr: "", exitCode: 0 }, entity)
    : readAuthGet({ stdout: "", stderr: fixture(file), exitCode: file.startsWith("eacces") ? 13 : 2 }, entity);

const POOLS = { images: "images", volumes: "volumes", vms: "vms", backups: "backups" };
const OPENSTACK: CephUser[] = [
  {
    user: "client.openstack",
    needs: [
      { pool: "images", access: "rwx" },
      { pool: "volumes", access: "rwx" },
      { pool: "vms", access: "rwx" },
    ],
  },
];
const cinder = [
  { pool: "volumes", access: "rwx" },
  { pool: "vms", access: "rwx" },
  { pool: "images", access: "r" },
] as const satisfies CephUser["needs"];
const reads = (pairs: [string, string][]) => new Map(pairs.map(([entity, file]) => [entity, answered(entity, file)]));

describe("cephx users judged by their caps (fixtures/ceph/auth)", () => {
  test("the guide's three users pass, in the guide's allow form and in the lab's profile form", () => {
    for (const form of ["guide", "lab"]) {
      const r = reads(GUIDE_CEPH_USERS.map((u) => [u.user, `${form}.${u.user}.json`]));
      expect(judgeCephUsers(GUIDE_CEPH_USERS, r, POOLS), form).toEqual({ findings: [], unreadable: [] });
    }
  });

  test("one client.openstack with profile rbd on images, volumes and vms (and mon profile rbd) passes", () => {
    const r = reads([["client.openstack", "tripleo.client.openstack.json"]]);
    expect(judgeCephUsers(OPENSTACK, r, POOLS)).toEqual({ findings: [], unreadable: [] });
  });

  test("the same client.openstack judged as the guide's client.cinder may write images beyond its pools", () => {
    const r = reads([["client.openstack", "tripleo.client.openstack.json"]]);
    const asCinder: CephUser[] = [{ user: "client.openstack", needs: [...cinder] }];
    expect(judgeCephUsers(asCinder, r, POOLS).findings).toEqual([
      "client.openstack may write pool images (osd 'profile rbd pool=images'), beyond volumes, vms",
    ]);
  });

  test("allow * fails, naming the user and the cap", () => {
    const users = GUIDE_CEPH_USERS.filter((u) => u.user === "client.glance");
    const r = reads([["client.glance", "broad.client.glance.json"]]);
    expect(judgeCephUsers(users, r, POOLS).findings).toEqual([
      "client.glance may write every pool (osd 'allow *')",
      "client.glance has mon 'allow *', broader than the guide's 'profile rbd'",
    ]);
  });

  test("a probe user that may not read caps (EACCES) leaves the users not verified, with the reason", () => {
    const r = reads(GUIDE_CEPH_USERS.map((u) => [u.user, "eacces.stderr.txt"]));
    expect(judgeCephUsers(GUIDE_CEPH_USERS, r, POOLS)).toEqual({
      findings: [],
      unreadable: [
        "client.glance: 'ceph auth get client.glance' answered Error EACCES: access denied",
        "client.cinder: 'ceph auth get client.cinder' answered Error EACCES: access denied",
        "client.cinder-backup: 'ceph auth get client.cinder-backup' answered Error EACCES: access denied",
      ],
    });
  });

  test("a configured user that does not exist is a finding", () => {
    const users = GUIDE_CEPH_USERS.filter((u) => u.user === "client.glance");
    expect(judgeCephUsers(users, reads([["client.glance", "enoent.stderr.txt"]]), POOLS).findings).toEqual([
      "there is no cephx user client.glance (Error ENOENT: failed to find client.glance in keyring)",
    ]);
  });

  test("any other failure of ceph auth get is an error, not a verdict", () => {
    expect(() => readAuthGet({ stdout: "", stderr: "Error ETIMEDOUT: timed out\n", exitCode: 110 }, "client.glance")).toThrow(
      "ceph auth get client.glance exited 110: Error ETIMEDOUT: timed out",
    );
  });

  test("a parse error never quotes the output", () => {
    expect(() => readAuthGet({ stdout: "key = AQBsecret", stderr: "", exitCode: 0 }, "client.glance")).toThrow(
      "ceph auth get client.glance: the output is not the JSON expected (not shown: it may hold the key)",
    );
  });

  test("pools per site: names from site.ceph.pools; at an edge without backups client.cinder-backup is not looked for", () => {
    const cfg = configSchema.parse({
      cloud: { cloud: "x" },
      flavor: "f",
      central: { name: "central", az: "central", store: "central", ceph: { cluster: "central", transport: { kind: "local" } } },
      edges: [
        {
          name: "dcn0",
          az: "dcn0",
          store: "dcn0",
          ceph: { cluster: "dcn0", transport: { kind: "local" }, pools: { images: "glance-images", backups: false } },
        },
      ],
    });
    const edge = sitePools(cfg, cfg.edges[0]!);
    expect(edge).toEqual({ images: "glance-images", volumes: "volumes", vms: "vms" });
    expect(sitePools(cfg, cfg.central)).toEqual(POOLS);
    expect(usersAt(GUIDE_CEPH_USERS, edge).map((u) => u.user)).toEqual(["client.glance", "client.cinder"]);
    const r = reads([
      ["client.glance", "lab.client.glance.json"],
      ["client.cinder", "lab.client.cinder.json"],
    ]);
    expect(judgeCephUsers(usersAt(GUIDE_CEPH_USERS, edge), r, edge).findings).toEqual([
      "client.glance may write pool images (osd 'profile rbd pool=images'), beyond glance-images",
      "client.glance cannot write pool glance-images",
      "client.glance cannot read pool glance-images",
      "client.cinder cannot read pool glance-images",
    ]);
  });

  test("a shared user's grant on a pool the site lacks is no finding", () => {
    const withBackups: CephUser[] = [{ user: "client.openstack", needs: [...OPENSTACK[0]!.needs, { pool: "backups", access: "rwx" }] }];
    const caps = {
      entity: "client.openstack",
      mon: "profile rbd",
      osd: "profile rbd pool=images, profile rbd pool=volumes, profile rbd pool=vms, profile rbd pool=backups",
    };
    const r = new Map<string, CapsRead>([["client.openstack", { kind: "caps", caps }]]);
    const { backups: _none, ...edge } = POOLS;
    expect(judgeCephUsers(withBackups, r, edge, { backups: "backups" }).findings).toEqual([]);
    expect(judgeCephUsers(withBackups, r, edge).findings).toEqual([
      "client.openstack may write pool backups (osd 'profile rbd pool=backups'), beyond images, volumes, vms",
    ]);
  });
});

describe("cephx caps against what each user needs", () => {
  test("broader caps, writes where only reads belong, and missing caps are findings", () => {
    expect(
      judgeCaps(
        { entity: "client.cinder", mon: "profile rbd", osd: "profile rbd pool=volumes, profile rbd pool=vms, profile rbd pool=images" },
        cinder,
      ),
    ).toEqual(["client.cinder may write pool images (osd 'profile rbd pool=images'), beyond volumes, vms"]);
    expect(judgeCaps({ entity: "client.cinder", mon: "profile rbd", osd: "profile rbd pool=volumes" }, cinder)).toEqual([
      "client.cinder cannot write pool vms",
      "client.cinder cannot read pool vms",
      "client.cinder cannot read pool images",
    ]);
  });

  test("a grant without x leaves rbd unable to open images; a narrowed grant covers no pool", () => {
    expect(
      judgeCaps({ entity: "client.glance", mon: "allow r", osd: "allow rw pool=images" }, [{ pool: "images", access: "rwx" }]),
    ).toEqual(["client.glance cannot call rbd's object classes in pool images (no 'x' or profile rbd): rbd cannot open its images"]);
    expect(
      judgeCaps({ entity: "client.glance", mon: "allow r", osd: "allow rwx pool=images namespace=ns1" }, [
        { pool: "images", access: "rwx" },
      ]),
    ).toEqual(["client.glance cannot write pool images", "client.glance cannot read pool images"]);
  });

  test("another osd profile is a finding", () => {
    expect(
      judgeCaps({ entity: "client.glance", mon: "profile rbd", osd: "profile rbd pool=images, profile osd" }, [
        { pool: "images", access: "rwx" },
      ]),
    ).toEqual(["client.glance has osd 'profile osd', a profile beyond the guide's rbd and rbd-read-only"]);
  });

  test("allow grants read by their letters, the older 'allow pool <p> <perms>' too", () => {
    expect(osdGrants("allow rwx pool=backups, allow r, allow class-read object_prefix rbd_children, allow pool vms rx")).toEqual([
      { text: "allow rwx pool=backups", pool: "backups", read: true, write: true, classRead: true, classWrite: true },
      { text: "allow r", read: true, write: false, classRead: false, classWrite: false },
      {
        text: "allow class-read object_prefix rbd_children",
        narrowed: "object_prefix rbd_children",
        read: false,
        write: false,
        classRead: true,
        classWrite: false,
      },
      { text: "allow pool vms rx", pool: "vms", read: true, write: false, classRead: true, classWrite: true },
    ]);
  });

  test("mon caps broader than 'profile rbd' are findings naming the user and the grant; 'allow r' is not broader", () => {
    const mon = (m: string) => judgeMonCaps({ entity: "client.cinder", mon: m, osd: "" });
    expect(mon("profile rbd")).toEqual([]);
    expect(mon("allow r")).toEqual([]);
    expect(mon("allow rw")).toEqual(["client.cinder has mon 'allow rw', broader than the guide's 'profile rbd'"]);
    expect(mon("allow rwx")).toEqual(["client.cinder has mon 'allow rwx', broader than the guide's 'profile rbd'"]);
    expect(mon("allow *")).toEqual(["client.cinder has mon 'allow *', broader than the guide's 'profile rbd'"]);
    expect(mon('allow r, allow command "osd blocklist"')).toEqual([
      `client.cinder has mon 'allow command "osd blocklist"' (of 'allow r, allow command "osd blocklist"'), broader than the guide's 'profile rbd'`,
    ]);
    expect(mon("profile rbd, profile admin")).toEqual([
      "client.cinder has mon 'profile admin' (of 'profile rbd, profile admin'), broader than the guide's 'profile rbd'",
    ]);
    expect(mon("")).toEqual(["client.cinder has no mon caps (the guide gives 'profile rbd'): it cannot reach the cluster"]);
  });
});
