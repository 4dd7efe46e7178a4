import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { PACKAGE_ROOT } from "../core/package-root.ts";
import { configSchema } from "./schema.ts";

const dir = join(PACKAGE_ROOT, "examples");
const example = (name: string) => configSchema.parse(parse(readFileSync(join(dir, name), "utf8")));

describe("the example configs (docs/configuration.md, Example configs)", () => {
  test("every example validates", () => {
    const files = readdirSync(dir).filter((f) => f.endsWith(".yaml"));
    expect(files.sort()).toEqual(["kolla-multi-ceph.yaml", "osp17-dcn.yaml", "rhoso18-dcn.yaml"]);
    for (const f of files) {
      const r = configSchema.safeParse(parse(readFileSync(join(dir, f), "utf8")));
      expect(r.success ? [] : r.error.issues.map((i) => `${f}: ${i.path.join(".")}: ${i.message}`)).toEqual([]);
    }
  });

  test("OSP 17.1 DCN: cephadm shell over ssh as tripleo-admin, the distribution's users and backups", () => {
    const cfg = example("osp17-dcn.yaml");
    for (const s of [cfg.central, ...cfg.edges]) {
      expect(s.ceph.transport).toMatchObject({ kind: "cephadm", user: "tripleo-admin" });
      expect(s.ceph.fsid).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(cfg.conformance.cephUsers).toEqual([expect.objectContaining({ user: "client.openstack" })]);
    expect(cfg.conformance.backupsSite).toBe("central");
    expect(cfg.webDownload.port).toBe(80);
  });

  test("RHOSO 18.0 DCN: sites az0, az1, az2, an edge Glance API per edge, cephadm as cloud-admin", () => {
    const cfg = example("rhoso18-dcn.yaml");
    expect([cfg.central, ...cfg.edges].map((s) => [s.name, s.az, s.store, s.ceph.cluster])).toEqual([
      ["az0", "az0", "az0", "az0"],
      ["az1", "az1", "az1", "az1"],
    ]);
    expect(cfg.edges.map((s) => s.glance?.endpoint)).toEqual(["https://glance-az1-internal.openstack.svc:9292"]);
    expect(cfg.conformance.backupsSite).toBe("az0");
  });

  test("kolla-ansible with a cluster per AZ: stores <cluster>-rbd, cinder's keyring under /etc/kolla/config", () => {
    const cfg = example("kolla-multi-ceph.yaml");
    for (const s of [cfg.central, ...cfg.edges]) {
      expect(s.store).toBe(`${s.ceph.cluster}-rbd`);
      expect(s.ceph).toMatchObject({
        user: "cinder",
        conf: `/etc/kolla/config/cinder/${s.ceph.cluster}.conf`,
        transport: { kind: "local" },
      });
    }
    expect(cfg.edges.every((s) => s.region === undefined)).toBe(true);
  });
});
