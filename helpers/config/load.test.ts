import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { stringify } from "yaml";
import { type CloudLoadOptions, loadCloudCredentials } from "../clients/credentials.ts";
import { clearRegisteredSecrets, redactText } from "../core/redact.ts";
import { ConfigError, loadConfig, resolveConfigPath } from "./load.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "dcnv-config-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  clearRegisteredSecrets();
});

const site = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  az: name,
  store: name,
  ceph: { cluster: name, transport: { kind: "local" } },
  ...extra,
});

const validConfig = () => ({
  cloud: { cloud: "lab", cloudsFile: "clouds.yaml" },
  central: site("central"),
  edges: [site("dcn0"), site("dcn1", { ceph: { cluster: "dcn1", transport: { kind: "docker", socketPath: "/run/docker.sock" } } })],
  flavor: "m1.tiny",
});

function write(name: string, content: string | object): string {
  const file = join(dir, name);
  mkdirSync(join(file, ".."), { recursive: true });
  writeFileSync(file, typeof content === "string" ? content : stringify(content));
  return file;
}

async function configError(content: string | object): Promise<ConfigError> {
  const file = write("dcn-verify.yaml", content);
  const e = await loadConfig(file).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ConfigError);
  const err = e as ConfigError;
  expect(err.message).toContain(file);
  return err;
}

describe("loadConfig", () => {
  test("a valid file gets its defaults and absolute paths", async () => {
    const file = write("dcn-verify.yaml", validConfig());
    const cfg = await loadConfig(file);
    expect(cfg.edges.map((e) => e.name)).toEqual(["dcn0", "dcn1"]);
    expect(cfg.timeouts.copyImage).toBe(600);
    expect(cfg.network).toBe("none");
    expect(cfg.cloud).toEqual({ cloud: "lab", cloudsFile: join(dir, "clouds.yaml") });
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
    expect(err.issues).toEqual([{ path: "edges[1].ceph.transport", message: "give exactly one of socketPath or host" }]);
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
    expect(() => resolveConfigPath(undefined, { env: {}, labConfigPath: join(dir, "none.yaml") })).toThrow(/DCN_VERIFY_CONFIG/);
  });
});

describe("loadCloudCredentials", () => {
  const opts = (extra: Partial<CloudLoadOptions> = {}): CloudLoadOptions => ({
    env: {},
    cwd: join(dir, "cwd"),
    home: join(dir, "home"),
    siteDirs: [join(dir, "etc")],
    ...extra,
  });

  const labCloud = {
    auth: {
      auth_url: "http://127.0.0.1:5000/v3",
      username: "admin",
      password: "lab-admin-pw",
      project_name: "admin",
      user_domain_name: "Default",
      project_domain_name: "Default",
    },
    region_name: "RegionOne",
    interface: "public",
    identity_api_version: 3,
  };

  test("reads an explicit clouds file and registers the password", async () => {
    const file = write("lab/clouds.yaml", { clouds: { lab: labCloud } });
    const c = await loadCloudCredentials({ cloud: "lab", cloudsFile: file }, opts());
    expect(c).toMatchObject({
      cloud: "lab",
      source: file,
      regionName: "RegionOne",
      interface: "public",
      verify: true,
      auth: {
        type: "password",
        authUrl: "http://127.0.0.1:5000/v3",
        username: "admin",
        password: "lab-admin-pw",
        projectName: "admin",
        userDomainName: "Default",
        projectDomainName: "Default",
      },
    });
    expect(redactText("login with lab-admin-pw failed")).toBe("login with *** failed");
  });

  test("searches OS_CLIENT_CONFIG_FILE, then the working directory, then ~/.config/openstack, then the site dirs", async () => {
    const inEtc = write("etc/clouds.yaml", { clouds: { lab: { ...labCloud, region_name: "etc" } } });
    const o = opts();
    expect((await loadCloudCredentials({ cloud: "lab" }, o)).source).toBe(inEtc);
    const inHome = write("home/.config/openstack/clouds.yml", { clouds: { lab: { ...labCloud, region_name: "home" } } });
    expect((await loadCloudCredentials({ cloud: "lab" }, o)).source).toBe(inHome);
    const inCwd = write("cwd/clouds.yaml", { clouds: { lab: { ...labCloud, region_name: "cwd" } } });
    expect((await loadCloudCredentials({ cloud: "lab" }, o)).source).toBe(inCwd);
    const override = write("other/my-clouds.yaml", { clouds: { lab: { ...labCloud, region_name: "override" } } });
    const c = await loadCloudCredentials({ cloud: "lab" }, opts({ env: { OS_CLIENT_CONFIG_FILE: override } }));
    expect(c.source).toBe(override);
    expect(c.regionName).toBe("override");
  });

  test("merges secure.yaml into the entry", async () => {
    const { password: _pw, ...authNoPw } = labCloud.auth;
    write("cwd/clouds.yaml", { clouds: { lab: { ...labCloud, auth: authNoPw } } });
    const secure = write("home/.config/openstack/secure.yaml", { clouds: { lab: { auth: { password: "from-secure" } } } });
    const c = await loadCloudCredentials({ cloud: "lab" }, opts());
    expect(c.auth).toMatchObject({ type: "password", password: "from-secure", username: "admin" });
    expect(c.source).toContain(secure);
  });

  test("applies openstacksdk's fix-ups: domain_name, tenant_name, top-level auth keys, dashes", async () => {
    write("cwd/clouds.yaml", {
      clouds: {
        old: {
          "auth-url": "http://keystone:5000",
          username: "demo",
          password: 12345,
          "tenant-name": "demo",
          domain_name: "Default",
          endpoint_type: "internalURL",
          insecure: "True",
        },
      },
    });
    const c = await loadCloudCredentials({ cloud: "old" }, opts());
    expect(c.auth).toEqual({
      type: "password",
      authUrl: "http://keystone:5000",
      username: "demo",
      password: "12345",
      projectName: "demo",
      userDomainName: "Default",
      projectDomainName: "Default",
    });
    expect(c.interface).toBe("internal");
    expect(c.verify).toBe(false);
  });

  test("application credentials", async () => {
    write("cwd/clouds.yaml", {
      clouds: {
        ac: {
          auth_type: "v3applicationcredential",
          auth: { auth_url: "http://127.0.0.1:5000/v3", application_credential_id: "acid", application_credential_secret: "ac-secret" },
        },
      },
    });
    const c = await loadCloudCredentials({ cloud: "ac", interface: "admin", region: "RegionTwo" }, opts());
    expect(c.auth).toEqual({
      type: "v3applicationcredential",
      authUrl: "http://127.0.0.1:5000/v3",
      applicationCredentialId: "acid",
      applicationCredentialSecret: "ac-secret",
    });
    expect(c.interface).toBe("admin");
    expect(c.regionName).toBe("RegionTwo");
    expect(redactText("ac-secret")).toBe("***");
  });

  test("an application credential by name needs its user", async () => {
    write("cwd/clouds.yaml", {
      clouds: {
        ac: {
          auth_type: "v3applicationcredential",
          auth: { auth_url: "http://k:5000/v3", application_credential_name: "n", application_credential_secret: "s3cr3t" },
        },
      },
    });
    await expect(loadCloudCredentials({ cloud: "ac" }, opts())).rejects.toThrow(
      /clouds clouds\.ac\.auth\.username: application_credential_name needs user_id/,
    );
  });

  test("missing fields are named with their clouds.yaml path", async () => {
    const file = write("cwd/clouds.yaml", {
      clouds: { lab: { auth: { username: "admin", password: "pw-pw-pw", project_name: "admin" } } },
    });
    const err = await loadCloudCredentials({ cloud: "lab" }, opts()).catch((e: unknown) => e as ConfigError);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([
      { path: "clouds.lab.auth.auth_url", message: "Required" },
      { path: "clouds.lab.auth.user_domain_name", message: "Required with username (or user_domain_id)" },
      { path: "clouds.lab.auth.project_domain_name", message: "Required with project_name (or project_domain_id)" },
    ]);
    expect((err as ConfigError).message).toContain(file);
    expect((err as ConfigError).message).not.toContain("pw-pw-pw");
  });

  test("an unknown cloud lists the ones there are", async () => {
    write("cwd/clouds.yaml", { clouds: { lab: labCloud, other: labCloud } });
    await expect(loadCloudCredentials({ cloud: "nope" }, opts())).rejects.toThrow(
      /clouds\.nope: no such cloud \(the file has: lab, other\)/,
    );
  });

  test("no clouds.yaml anywhere lists where it looked", async () => {
    await expect(loadCloudCredentials({ cloud: "lab" }, opts())).rejects.toThrow(/no clouds\.yaml found; looked in: .*cwd\/clouds\.yaml/);
  });

  test("regions: the first by default, the asked one, or an error listing them", async () => {
    write("cwd/clouds.yaml", {
      clouds: { lab: { ...labCloud, region_name: undefined, regions: ["One", { name: "Two", values: { interface: "internal" } }] } },
    });
    expect((await loadCloudCredentials({ cloud: "lab" }, opts())).regionName).toBe("One");
    const two = await loadCloudCredentials({ cloud: "lab", region: "Two" }, opts());
    expect([two.regionName, two.interface]).toEqual(["Two", "internal"]);
    await expect(loadCloudCredentials({ cloud: "lab", region: "Three" }, opts())).rejects.toThrow(/region 'Three' is not one of One, Two/);
  });

  test("OS_* variables", async () => {
    const env = {
      OS_AUTH_URL: "http://127.0.0.1:5000/v3",
      OS_USERNAME: "admin",
      OS_PASSWORD: "env-pw-1",
      OS_PROJECT_NAME: "admin",
      OS_USER_DOMAIN_NAME: "Default",
      OS_PROJECT_DOMAIN_NAME: "Default",
      OS_REGION_NAME: "RegionOne",
      OS_INTERFACE: "internal",
      OS_CACERT: "/etc/ssl/ca.pem",
      OS_IDENTITY_API_VERSION: "3",
      OS_TEST_TIMEOUT: "5",
    };
    const c = await loadCloudCredentials({ fromEnv: true }, opts({ env }));
    expect(c).toEqual({
      cloud: "envvars",
      source: "environment",
      auth: {
        type: "password",
        authUrl: "http://127.0.0.1:5000/v3",
        username: "admin",
        password: "env-pw-1",
        projectName: "admin",
        userDomainName: "Default",
        projectDomainName: "Default",
      },
      regionName: "RegionOne",
      interface: "internal",
      verify: true,
      cacert: "/etc/ssl/ca.pem",
    });
  });

  test("OS_* application credential", async () => {
    const env = {
      OS_AUTH_TYPE: "v3applicationcredential",
      OS_AUTH_URL: "http://127.0.0.1:5000",
      OS_APPLICATION_CREDENTIAL_ID: "id1",
      OS_APPLICATION_CREDENTIAL_SECRET: "env-ac-secret",
    };
    const c = await loadCloudCredentials({ fromEnv: true }, opts({ env }));
    expect(c.auth).toEqual({
      type: "v3applicationcredential",
      authUrl: "http://127.0.0.1:5000",
      applicationCredentialId: "id1",
      applicationCredentialSecret: "env-ac-secret",
    });
  });

  test("missing OS_* variables are named as variables", async () => {
    const env = { OS_AUTH_URL: "http://127.0.0.1:5000/v3", OS_USERNAME: "admin", OS_USER_DOMAIN_NAME: "Default" };
    await expect(loadCloudCredentials({ fromEnv: true }, opts({ env }))).rejects.toThrow(
      /^environment OS_PASSWORD: Required \(in environment\)$/,
    );
    await expect(loadCloudCredentials({ fromEnv: true }, opts({ env: {} }))).rejects.toThrow(/no OS_\* credentials/);
  });

  test("OS_CLOUD alone selects a clouds.yaml entry", async () => {
    write("cwd/clouds.yaml", { clouds: { lab: labCloud } });
    const c = await loadCloudCredentials({ fromEnv: true }, opts({ env: { OS_CLOUD: "lab" } }));
    expect(c.cloud).toBe("lab");
  });
});
