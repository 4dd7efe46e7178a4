import { describe, expect, test } from "vitest";
import { applyOverlay, OverlayError } from "./overlay.ts";

const base = {
  cloud: { cloud: "overcloud" },
  central: {
    name: "central",
    ceph: { cluster: "central", transport: { kind: "cephadm", host: "ctl-0.example.com", user: "tripleo-admin" } },
  },
  edges: [
    { name: "dcn0", ceph: { cluster: "dcn0", transport: { kind: "cephadm", host: "hci-0.example.com" } } },
    { name: "dcn1", ceph: { cluster: "dcn1", transport: { kind: "cephadm", host: "hci-1.example.com" } } },
  ],
  flavor: "m1.small",
};

describe("applyOverlay: hosts, ports, paths and fsids over a config, sites matched by name", () => {
  test("fills the listed fields of the named sites and leaves the rest as the file has it", () => {
    const out = applyOverlay(base, {
      cloud: { cloudsFile: "/lab/clouds.yaml" },
      edges: [
        { name: "dcn0", ceph: { fsid: "f", transport: { host: "127.0.0.1", port: 2222 } }, glance: { endpoint: "http://127.0.0.1:9301" } },
      ],
      conformance: { minPoolSize: 1 },
    });
    expect(out.cloud).toEqual({ cloud: "overcloud", cloudsFile: "/lab/clouds.yaml" });
    expect(out.edges).toEqual([
      {
        name: "dcn0",
        ceph: { cluster: "dcn0", fsid: "f", transport: { kind: "cephadm", host: "127.0.0.1", port: 2222 } },
        glance: { endpoint: "http://127.0.0.1:9301" },
      },
      base.edges[1],
    ]);
    expect(out.conformance).toEqual({ minPoolSize: 1 });
    expect(out.flavor).toBe("m1.small");
    expect(base.edges[0]!.ceph.transport.host).toBe("hci-0.example.com");
  });

  test("refuses a field that is not a host, port, path or fsid, naming it", () => {
    expect(() => applyOverlay(base, { flavor: "big" })).toThrow(OverlayError);
    expect(() => applyOverlay(base, { central: { name: "central", ceph: { transport: { kind: "local" } } } })).toThrow(
      /overlay central\.ceph\.transport\.kind: an overlay sets only hosts, ports, paths and fsids/,
    );
    expect(() => applyOverlay(base, { edges: [{ name: "dcn0", az: "nova" }] })).toThrow(/overlay edges\[0\]\.az/);
  });

  test("refuses a site the config does not have", () => {
    expect(() => applyOverlay(base, { edges: [{ name: "dcn7", ceph: { fsid: "f" } }] })).toThrow(
      /overlay edges\[0\]\.name: no site 'dcn7' in the config \(sites: central, dcn0, dcn1\)/,
    );
  });
});
