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
      OS_CACERT: write("ca.pem", "not checked here"),
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
      cacert: join(folder.dir(), "ca.pem"),
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
    await expect(loadCloudCredentials({ fromEnv: true }, opts({ env: {} }))).rejects.toThrow(
      /^environment OS_CLOUD: Required: cloud.fromEnv is set but no OS_\* credentials \(nor OS_CLOUD\) are in the environment, and no clouds\.yaml found/,
    );
  });

  test("OS_CLOUD alone selects a clouds.yaml entry", async () => {
    write("cwd/clouds.yaml", { clouds: { lab: labCloud } });
    const c = await loadCloudCredentials({ fromEnv: true }, opts({ env: { OS_CLOUD: "lab" } }));
    expect(c.cloud).toBe("lab");
  });

  describe("OS_CLOUD and the other OS_* variables, as openstacksdk's loader combines them", () => {
    const wrongEnv = {
      OS_AUTH_URL: "http://wrong.example:5000/v3",
      OS_USERNAME: "someone-else",
      OS_PASSWORD: "wrong-env-pw",
      OS_PROJECT_NAME: "other",
      OS_USER_DOMAIN_NAME: "Default",
      OS_PROJECT_DOMAIN_NAME: "Default",
      OS_REGION_NAME: "RegionEnv",
    };

    test("OS_CLOUD beside other OS_* variables picks the clouds.yaml entry and ignores them all, OS_REGION_NAME too", async () => {
      write("cwd/clouds.yaml", { clouds: { lab: labCloud, other: labCloud } });
      const c = await loadCloudCredentials({ fromEnv: true }, opts({ env: { ...wrongEnv, OS_CLOUD: "lab" } }));
      expect(c.cloud).toBe("lab");
      expect(c.auth).toMatchObject({ authUrl: "http://127.0.0.1:5000/v3", username: "admin", password: "lab-admin-pw" });
      expect(c.regionName).toBe("RegionOne");
    });

    test("the config's region still picks among the entry's regions", async () => {
      write("cwd/clouds.yaml", { clouds: { lab: { ...labCloud, region_name: undefined, regions: ["One", "Two"] } } });
      const c = await loadCloudCredentials({ fromEnv: true, region: "Two" }, opts({ env: { ...wrongEnv, OS_CLOUD: "lab" } }));
      expect(c.regionName).toBe("Two");
    });

    test("without OS_CLOUD the OS_* variables are the cloud, named by OS_CLOUD_NAME", async () => {
      write("cwd/clouds.yaml", { clouds: { lab: labCloud } });
      const c = await loadCloudCredentials({ fromEnv: true }, opts({ env: { ...wrongEnv, OS_CLOUD_NAME: "mine" } }));
      expect([c.cloud, c.source, c.auth.authUrl, c.regionName]).toEqual([
        "mine",
        "environment",
        "http://wrong.example:5000/v3",
        "RegionEnv",
      ]);
    });

    test("OS_CLOUD naming the variables' own cloud picks them", async () => {
      const c = await loadCloudCredentials({ fromEnv: true }, opts({ env: { ...wrongEnv, OS_CLOUD: "envvars" } }));
      expect(c.cloud).toBe("envvars");
      expect(c.auth).toMatchObject({ username: "someone-else" });
    });

    test("OS_CLOUD naming no entry lists the entries, whatever other variables are set", async () => {
      write("cwd/clouds.yaml", { clouds: { lab: labCloud } });
      await expect(loadCloudCredentials({ fromEnv: true }, opts({ env: { ...wrongEnv, OS_CLOUD: "nope" } }))).rejects.toThrow(
        /clouds\.nope: no such cloud \(the file has: lab\)/,
      );
    });

    test("selectors alone (OS_REGION_NAME) leave the only clouds.yaml entry to be picked; two entries need OS_CLOUD", async () => {
      write("cwd/clouds.yaml", { clouds: { lab: labCloud } });
      expect((await loadCloudCredentials({ fromEnv: true }, opts({ env: { OS_REGION_NAME: "x" } }))).cloud).toBe("lab");
      write("cwd/clouds.yaml", { clouds: { lab: labCloud, other: labCloud } });
      await expect(loadCloudCredentials({ fromEnv: true }, opts({ env: { OS_REGION_NAME: "x" } }))).rejects.toThrow(
        /^environment OS_CLOUD: Required: .* and .*clouds\.yaml has lab, other/,
      );
    });

    test("a clouds.yaml entry named like the variables' cloud is refused, as openstacksdk does", async () => {
      write("cwd/clouds.yaml", { clouds: { envvars: labCloud } });
      await expect(loadCloudCredentials({ fromEnv: true }, opts({ env: wrongEnv }))).rejects.toThrow(
        /clouds\.envvars: the file defines a cloud named 'envvars'/,
      );
    });
  });

  describe("token auth", () => {
    const tokenCloud = (auth: Record<string, unknown>, authType = "v3token") => ({
      clouds: { t: { auth_type: authType, auth: { auth_url: "http://127.0.0.1:5000/v3", ...auth } } },
    });

    test("token and v3token carry the token and the scope, and the token is registered as a secret", async () => {
      for (const type of ["token", "v3token"]) {
        write("cwd/clouds.yaml", tokenCloud({ token: "gAAAApre-issued", project_name: "admin", project_domain_name: "Default" }, type));
        const c = await loadCloudCredentials({ cloud: "t" }, opts());
        expect(c.auth).toEqual({
          type: "token",
          authUrl: "http://127.0.0.1:5000/v3",
          token: "gAAAApre-issued",
          projectName: "admin",
          projectDomainName: "Default",
        });
      }
      expect(redactText("sent gAAAApre-issued")).toBe("sent ***");
    });

    test("OS_AUTH_TYPE=v3token with OS_TOKEN (and auth_token, its old name)", async () => {
      const base = { OS_AUTH_TYPE: "v3token", OS_AUTH_URL: "http://127.0.0.1:5000/v3", OS_PROJECT_ID: "p1" };
      for (const env of [
        { ...base, OS_TOKEN: "env-token-1" },
        { ...base, OS_AUTH_TOKEN: "env-token-1" },
      ]) {
        const c = await loadCloudCredentials({ fromEnv: true }, opts({ env }));
        expect(c.auth).toEqual({ type: "token", authUrl: "http://127.0.0.1:5000/v3", token: "env-token-1", projectId: "p1" });
      }
    });

    test("a token needs a scope, and a token type; the errors name the fields and never the token", async () => {
      write("cwd/clouds.yaml", tokenCloud({ token: "tok-secret-1" }));
      const err = (await loadCloudCredentials({ cloud: "t" }, opts()).catch((e: unknown) => e)) as ConfigError;
      expect(err.issues).toEqual([
        { path: "clouds.t.auth.project_name", message: "Required with a token (or project_id, domain_name, domain_id, system_scope)" },
      ]);
      write("cwd/clouds.yaml", tokenCloud({ token: "tok-secret-1", project_name: "admin" }, "password"));
      const err2 = (await loadCloudCredentials({ cloud: "t" }, opts()).catch((e: unknown) => e)) as ConfigError;
      expect(err2.issues).toContainEqual({
        path: "clouds.t.auth.password",
        message: "Required: a token needs auth_type token or v3token (OS_AUTH_TYPE=v3token)",
      });
      write("cwd/clouds.yaml", tokenCloud({ project_name: "admin", project_domain_name: "Default" }));
      await expect(loadCloudCredentials({ cloud: "t" }, opts())).rejects.toThrow(/clouds\.t\.auth\.token: Required/);
      write("cwd/clouds.yaml", tokenCloud({ token: "x" }, "kerberos"));
      await expect(loadCloudCredentials({ cloud: "t" }, opts())).rejects.toThrow(
        /clouds\.t\.auth_type: one of password, v3password, token, v3token/,
      );
      expect(`${err.message}${err2.message}`).not.toContain("tok-secret-1");
    });
  });

  describe("TLS files, api_timeout, endpoint overrides", () => {
    test("cacert, cert and key are checked readable (~ is the home directory) and named when not", async () => {
      const cert = write("home/tls/client.pem", "x");
      write("cwd/clouds.yaml", { clouds: { lab: { ...labCloud, cacert: "~/tls/client.pem", cert, key: "~/tls/client.pem" } } });
      const c = await loadCloudCredentials({ cloud: "lab" }, opts());
      expect([c.cacert, c.cert, c.key]).toEqual([cert, cert, cert]);
      write("cwd/clouds.yaml", { clouds: { lab: { ...labCloud, cacert: "/nonexistent/ca.pem", key: cert } } });
      const err = (await loadCloudCredentials({ cloud: "lab" }, opts()).catch((e: unknown) => e)) as ConfigError;
      expect(err.issues).toEqual([
        { path: "clouds.lab.cacert", message: "cannot read /nonexistent/ca.pem (ENOENT)" },
        { path: "clouds.lab.key", message: "a client key needs cert as well" },
      ]);
      await expect(loadCloudCredentials({ fromEnv: true }, opts({ env: { ...envBase, OS_CERT: "/nonexistent/c.pem" } }))).rejects.toThrow(
        /^environment OS_CERT: cannot read \/nonexistent\/c\.pem \(ENOENT\)/,
      );
    });

    test("api_timeout in seconds, from clouds.yaml or OS_API_TIMEOUT; anything else is named", async () => {
      write("cwd/clouds.yaml", { clouds: { lab: { ...labCloud, api_timeout: 7.5 } } });
      expect((await loadCloudCredentials({ cloud: "lab" }, opts())).apiTimeoutS).toBe(7.5);
      expect((await loadCloudCredentials({ fromEnv: true }, opts({ env: { ...envBase, OS_API_TIMEOUT: "12" } }))).apiTimeoutS).toBe(12);
      for (const bad of [0, "soon", -1]) {
        write("cwd/clouds.yaml", { clouds: { lab: { ...labCloud, api_timeout: bad } } });
        await expect(loadCloudCredentials({ cloud: "lab" }, opts())).rejects.toThrow(/clouds\.lab\.api_timeout: a number of seconds/);
      }
    });

    test("<service>_endpoint_override keys, from clouds.yaml or OS_*_ENDPOINT_OVERRIDE; a bad URL is named", async () => {
      write("cwd/clouds.yaml", {
        clouds: {
          lab: {
            ...labCloud,
            image_endpoint_override: "http://glance.example:9292/",
            "volume-endpoint-override": "http://cinder.example:8776/v3/%(project_id)s",
          },
        },
      });
      const c = await loadCloudCredentials({ cloud: "lab" }, opts());
      expect(c.endpointOverrides).toEqual({ image: "http://glance.example:9292", volume: "http://cinder.example:8776/v3/%(project_id)s" });
      const e = await loadCloudCredentials(
        { fromEnv: true },
        opts({ env: { ...envBase, OS_COMPUTE_ENDPOINT_OVERRIDE: "https://nova:8774/v2.1" } }),
      );
      expect(e.endpointOverrides).toEqual({ compute: "https://nova:8774/v2.1" });
      write("cwd/clouds.yaml", { clouds: { lab: { ...labCloud, compute_endpoint_override: "nova:8774" } } });
      await expect(loadCloudCredentials({ cloud: "lab" }, opts())).rejects.toThrow(
        /clouds\.lab\.compute_endpoint_override: must be an http\(s\) URL/,
      );
    });
  });
});

const envBase = {
  OS_AUTH_URL: "http://127.0.0.1:5000/v3",
  OS_USERNAME: "admin",
  OS_PASSWORD: "env-pw-2",
  OS_PROJECT_NAME: "admin",
  OS_USER_DOMAIN_NAME: "Default",
  OS_PROJECT_DOMAIN_NAME: "Default",
};
