import { describe, expect, test } from "vitest";
import { judgeCaps, judgeMonCaps, osdGrants } from "./conformance.ts";

const cinder = { writes: ["volumes", "vms"], readsOnly: ["images"] };

describe("cephx caps against the Ceph guide", () => {
  test("the guide's caps pass", () => {
    expect(
      judgeCaps({ entity: "client.glance", mon: "profile rbd", osd: "profile rbd pool=images" }, { writes: ["images"], readsOnly: [] }),
    ).toEqual([]);
    expect(
      judgeCaps(
        {
          entity: "client.cinder",
          mon: "profile rbd",
          osd: "profile rbd pool=volumes, profile rbd pool=vms, profile rbd-read-only pool=images",
        },
        cinder,
      ),
    ).toEqual([]);
  });

  test("broader caps, writes where only reads belong, and missing caps are findings", () => {
    expect(judgeCaps({ entity: "client.glance", mon: "allow *", osd: "allow *" }, { writes: ["images"], readsOnly: [] })).toEqual([
      "client.glance may write every pool (osd 'allow *')",
      "client.glance has mon 'allow *', broader than the guide's 'profile rbd'",
    ]);
    expect(
      judgeCaps(
        { entity: "client.cinder", mon: "profile rbd", osd: "profile rbd pool=volumes, profile rbd pool=vms, profile rbd pool=images" },
        cinder,
      ),
    ).toEqual(["client.cinder may write pool images (osd 'profile rbd pool=images'), beyond volumes, vms"]);
    expect(judgeCaps({ entity: "client.cinder", mon: "profile rbd", osd: "profile rbd pool=volumes" }, cinder)).toEqual([
      "client.cinder cannot write pool vms",
      "client.cinder cannot read pool images",
    ]);
  });

  test("allow grants read by their letters", () => {
    expect(osdGrants("allow rwx pool=backups, allow r")).toEqual([
      { text: "allow rwx pool=backups", pool: "backups", write: true, read: true },
      { text: "allow r", pool: undefined, write: false, read: true },
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
