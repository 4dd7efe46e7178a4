import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { ConfigError } from "../config/load.ts";
import { configFolder } from "../config/testing.ts";
import { redactText } from "../core/redact.ts";
import { type CloudLoadOptions, loadCloudCredentials } from "./credentials.ts";

const folder = configFolder();
const write = folder.write;

describe("loadCloudCredentials", () => {
  const opts = (extra: Partial<CloudLoadOptions> = {}): CloudLoadOptions => ({
    env: {},
    cwd: join(folder.dir(), "cwd"),
    home: join(folder.dir(), "home"),
    siteDirs: [join(folder.dir(), "etc")],
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
