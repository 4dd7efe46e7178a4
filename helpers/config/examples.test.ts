import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { PACKAGE_ROOT } from "../core/package-root.ts";
import { configSchema } from "./schema.ts";

const dir = join(PACKAGE_ROOT, "examples");
const example = (name: string) => configSchema.parse(parse(readFileSync(join(dir, name), "utf8")));

describe("the README's example configs", () => {
  test("every example validates", () => {
    const files = readdirSync(dir).filter((f) => f.endsWith(".yaml"));
    expect(files.sort()).toEqual(["kolla-multi-az.yaml", "osp17-dcn.yaml", "osp18-external-ceph.yaml"]);
    for (const f of files) {
      const r = configSchema.safeParse(parse(readFileSync(join(dir, f), "utf8")));
      expect(r.success ? [] : r.error.issues.map((i) => `${f}: ${i.path.join(".")}: ${i.message}`)).toEqual([]);
    }
  });

  test("OSP 17 DCN: cephadm over ssh through the undercloud, one shared cephx user, web-download on port 80", () => {
    const cfg = example("osp17-dcn.yaml");
    for (const s of [cfg.central, ...cfg.edges]) {
      expect(s.ceph.transport).toMatchObject({ kind: "ssh", prefix: ["sudo", "-n", "cephadm", "shell", "--fsid", "{fsid}", "--"] });
      expect(s.ceph.fsid).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(cfg.conformance.cephUsers).toEqual([expect.objectContaining({ user: "client.openstack" })]);
    expect(cfg.webDownload.port).toBe(80);
  });

  test("OSP 18 with external Ceph: no site's Ceph is reachable", () => {
    const cfg = example("osp18-external-ceph.yaml");
    expect([cfg.central, ...cfg.edges].map((s) => s.ceph.transport.kind)).toEqual(["none", "none", "none"]);
  });

  test("kolla-ansible multi-AZ: docker exec over ssh, a region and renamed pools at the edge", () => {
    const cfg = example("kolla-multi-az.yaml");
    expect(cfg.central.ceph.transport).toMatchObject({ kind: "ssh", prefix: ["sudo", "-n", "docker", "exec", "ceph-mon-{host}"] });
    expect(cfg.edges[0]).toMatchObject({ region: "RegionTwo", ceph: { pools: { images: "az2-images" } } });
  });
});
