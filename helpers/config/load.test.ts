import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { loadConfig, resolveConfigPath } from "./load.ts";
import { configError as configErrorIn, configFolder, testSite, validConfig } from "./testing.ts";

const folder = configFolder();
const write = folder.write;
const site = testSite;

const configError = (content: string | object) => configErrorIn(write, content);

describe("loadConfig", () => {
  test("a valid file gets its defaults and absolute paths", async () => {
    const file = write("dcn-verify.yaml", validConfig());
    const cfg = await loadConfig(file);
    expect(cfg.edges.map((e) => e.name)).toEqual(["dcn0", "dcn1"]);
    expect(cfg.timeouts.copyImage).toBe(600);
    expect(cfg.network).toBe("none");
    expect(cfg.cloud).toEqual({ cloud: "lab", cloudsFile: join(folder.dir(), "clouds.yaml") });
  });

  test("bad YAML names the file and the line", async () => {
    const err = await configError("cloud:\n  cloud: lab\n central: [\n");
    expect(err.message).toMatch(/^config YAML /);
    expect(err.message).toMatch(/line \d+/);
  });

  test("duplicate YAML keys are an error, not a silent override", async () => {
    const err = await configError("flavor: a\nflavor: b\n");
    expect(err.message).toMatch(/unique|duplicate/i);
  });

  test("a missing top-level field is named", async () => {
    const { flavor: _omit, ...rest } = validConfig();
    const err = await configError(rest);
    expect(err.issues).toEqual([{ path: "flavor", message: "Required" }]);
    expect(err.message).toMatch(/^config flavor: Required \(in .*dcn-verify\.yaml\)$/);
  });

  test("a site may name its own region; an empty or non-string one is named", async () => {
    const ok = validConfig();
    ok.edges[0] = site("dcn0", { region: "RegionEdge0" });
    expect((await loadConfig(write("dcn-verify.yaml", ok))).edges[0]!.region).toBe("RegionEdge0");
    const bad = validConfig();
    bad.edges[1] = site("dcn1", { region: "" });
    const err = await configError({ ...bad, central: site("central", { region: 5 }) });
    expect(err.issues).toEqual([
      { path: "central.region", message: "a Keystone region name" },
      { path: "edges[1].region", message: "a Keystone region name" },
    ]);
  });

  test("a missing nested field is named with its index", async () => {
    const cfg = validConfig();
    cfg.edges[1] = site("dcn1", { ceph: { cluster: "dcn1", transport: { kind: "ssh" } } });
    const err = await configError(cfg);
    expect(err.issues).toEqual([{ path: "edges[1].ceph.transport.host", message: "Required" }]);
  });

  test("webDownload: an advertised URL needs a fixed port, qcow2Uri needs uri, and URIs must be http(s)", async () => {
    const err = await configError({
      ...validConfig(),
      webDownload: { advertiseUrl: "http://10.0.0.5:8089", qcow2Uri: "http://m/x.qcow2", uri: "ftp://m/x.raw" },
    });
    expect(err.issues).toEqual(expect.arrayContaining([{ path: "webDownload.uri", message: "only http(s) URLs" }]));
    const err2 = await configError({
      ...validConfig(),
      webDownload: { advertiseUrl: "http://10.0.0.5:8089", qcow2Uri: "http://m/x.qcow2" },
    });
    expect(err2.issues).toEqual([
      { path: "webDownload.port", message: "give the fixed port advertiseUrl forwards to (0 picks a random one)" },
      { path: "webDownload.qcow2Uri", message: "qcow2Uri needs uri as well" },
    ]);
  });

  test("webDownload and rbd naming default to a local server and the guide's pool and snapshot names", async () => {
    const cfg = await loadConfig(write("dcn-verify.yaml", validConfig()));
    expect(cfg.webDownload).toEqual({ bind: "127.0.0.1", port: 0, sizeMiB: 8 });
    expect(cfg.rbd).toEqual({ imagesPool: "images", volumesPool: "volumes", imageSnapshot: "snap" });
  });

  test("docker transport needs exactly one of socketPath and host", async () => {
    const cfg = validConfig();
    cfg.edges[1] = site("dcn1", { ceph: { cluster: "dcn1", transport: { kind: "docker" } } });
    const err = await configError(cfg);
    expect(err.issues).toEqual([{ path: "edges[1].ceph.transport", message: "give exactly one of socketPath, host or url (given: none)" }]);
  });

  test("an unknown transport kind is named", async () => {
    const cfg = validConfig();
    cfg.edges[0] = site("dcn0", { ceph: { cluster: "dcn0", transport: { kind: "dockr" } } });
    const err = await configError(cfg);
    expect(err.issues[0]!.path).toBe("edges[0].ceph.transport.kind");
    expect(err.issues[0]!.message).toContain("docker");
  });

  test("a bad site name is named", async () => {
    const cfg = validConfig();
    cfg.edges[0] = { ...site("dcn0"), name: "dcn 0" };
    const err = await configError(cfg);
    expect(err.issues).toEqual([{ path: "edges[0].name", message: "a site name is letters, digits, '-' or '_' (at most 63)" }]);
  });

  test("two sites with one Glance store are named", async () => {
    const cfg = validConfig();
    cfg.edges[1] = { ...site("dcn1"), store: "central" };
    const err = await configError(cfg);
    expect(err.issues).toEqual([{ path: "edges[1].store", message: "Glance store 'central' is used by two sites" }]);
  });

  test("an unknown field is named, not ignored", async () => {
    const cfg = { ...validConfig(), flavour: "m1.tiny" };
    const err = await configError(cfg);
    expect(err.issues).toEqual([{ path: "flavour", message: "unknown field" }]);
  });

  test("several problems are all listed", async () => {
    const cfg = validConfig() as Record<string, unknown>;
    delete cfg.flavor;
    (cfg.central as Record<string, unknown>).az = 5;
    const err = await configError(cfg);
    expect(err.issues.map((i) => i.path).sort()).toEqual(["central.az", "flavor"]);
    expect(err.message.split("\n")).toHaveLength(3);
  });

  test("an empty file says so", async () => {
    const err = await configError("");
    expect(err.message).toContain("empty");
  });

  test("the path comes from the argument, then DCN_VERIFY_CONFIG, then the lab's file", () => {
    const lab = write("lab/dcn-verify.yaml", validConfig());
    expect(resolveConfigPath("x.yaml", { env: { DCN_VERIFY_CONFIG: "/y.yaml" }, labConfigPath: lab })).toMatch(/x\.yaml$/);
    expect(resolveConfigPath(undefined, { env: { DCN_VERIFY_CONFIG: "/y.yaml" }, labConfigPath: lab })).toBe("/y.yaml");
    expect(resolveConfigPath(undefined, { env: {}, labConfigPath: lab })).toBe(lab);
    expect(() => resolveConfigPath(undefined, { env: {}, labConfigPath: join(folder.dir(), "none.yaml") })).toThrow(/DCN_VERIFY_CONFIG/);
  });
});
