import { afterEach, describe, expect, test } from "vitest";
import { clearRegisteredSecrets, isSecretKey, REDACTED, redact, redactText, registerSecret } from "./redact.ts";

afterEach(() => clearRegisteredSecrets());

describe("redact", () => {
  test("removes secret values at any depth and keeps the rest", () => {
    const body = {
      auth: {
        identity: {
          methods: ["password", "application_credential"],
          password: { user: { name: "admin", domain: { name: "Default" }, password: "s3cret-pw" } },
          application_credential: { id: "abc", secret: "ac-secret-value" },
        },
        scope: { project: { name: "admin" } },
      },
      list: [{ token: "tok-123456" }, { adminPass: "Xyz12345", name: "vm1" }],
      headers: { "X-Auth-Token": "gAAAAtoken", "x-subject-token": "subj-token", "Content-Type": "application/json" },
      db: { connection: "mysql+pymysql://glance:dbpass@127.0.0.1/glance", key: "AQDk0Ytl" },
      sort_key: "name",
      key_name: "mykey",
    };
    const out = redact(body) as typeof body;
    expect(out.auth.identity.password.user.password).toBe(REDACTED);
    expect(out.auth.identity.password.user.name).toBe("admin");
    expect(out.auth.identity.application_credential).toEqual({ id: "abc", secret: REDACTED });
    expect(out.auth.identity.methods).toEqual(["password", "application_credential"]);
    expect(out.list).toEqual([{ token: REDACTED }, { adminPass: REDACTED, name: "vm1" }]);
    expect(out.headers).toEqual({ "X-Auth-Token": REDACTED, "x-subject-token": REDACTED, "Content-Type": "application/json" });
    expect(out.db).toEqual({ connection: REDACTED, key: REDACTED });
    expect(out.sort_key).toBe("name");
    expect(out.key_name).toBe("mykey");
    expect(JSON.stringify(out)).not.toMatch(/s3cret-pw|ac-secret-value|tok-123456|Xyz12345|gAAAAtoken|dbpass|AQDk0Ytl/);
    expect(body.auth.identity.password.user.password).toBe("s3cret-pw");
  });

  test("recurses into a secret-named object instead of dropping it", () => {
    const out = redact({ token: { expires_at: "2030-01-01T00:00:00Z", user: { name: "admin" } } });
    expect(out).toEqual({ token: { expires_at: "2030-01-01T00:00:00Z", user: { name: "admin" } } });
  });

  test("handles cycles, errors, maps and buffers", () => {
    const a: Record<string, unknown> = { name: "a" };
    a.self = a;
    const err = Object.assign(new Error("failed with password=hunter22x"), { password: "hunter22x" });
    const out = redact({ a, err, m: new Map([["secret", "m-secret"]]), b: Buffer.from("password") }) as Record<string, any>;
    expect(out.a.self).toBe(out.a);
    expect(out.err.message).toBe(`failed with password=${REDACTED}`);
    expect(out.err.password).toBe(REDACTED);
    expect(out.m).toEqual({ secret: REDACTED });
    expect(out.b).toBe("[8 bytes]");
  });

  test("is what isSecretKey says", () => {
    for (const k of [
      "password",
      "OS_PASSWORD",
      "db_password",
      "secret",
      "token",
      "auth_token",
      "X-Auth-Token",
      "X-Subject-Token",
      "key",
      "adminPass",
      "application_credential_secret",
      "Authorization",
    ]) {
      expect(isSecretKey(k), k).toBe(true);
    }
    for (const k of ["name", "id", "os_hash_value", "key_name", "sort_key", "stores", "fsid", "tokens_issued_count"]) {
      expect(isSecretKey(k), k).toBe(false);
    }
  });
});

describe("redactText", () => {
  test("replaces registered secrets anywhere, also URL-encoded", () => {
    registerSecret("Lab-P@ss/word");
    const s = redactText("auth failed for admin using Lab-P@ss/word; url had Lab-P%40ss%2Fword");
    expect(s).toBe(`auth failed for admin using ${REDACTED}; url had ${REDACTED}`);
  });

  test("ignores too-short secrets so that messages stay readable", () => {
    registerSecret("ab");
    expect(redactText("about abc")).toBe("about abc");
  });

  test("removes passwords from connection strings and URLs", () => {
    expect(redactText("connection = mysql+pymysql://keystone:Kp4ss@127.0.0.1/keystone")).not.toContain("Kp4ss");
    expect(redactText("transport_url=rabbit://openstack:rabbitpw@localhost:5672/")).not.toContain("rabbitpw");
    expect(redactText("GET http://user:hunter2@host:5000/v3 failed")).toBe(`GET http://user:${REDACTED}@host:5000/v3 failed`);
    expect(redactText("http://127.0.0.1:5000/v3/auth/tokens")).toBe("http://127.0.0.1:5000/v3/auth/tokens");
  });

  test("removes headers, key=value pairs, JSON and CLI secrets", () => {
    expect(redactText("X-Auth-Token: gAAAAABsomething\nAccept: */*")).toBe(`X-Auth-Token: ${REDACTED}\nAccept: */*`);
    expect(redactText('{"password": "p\\"w", "name": "x"}')).toBe(`{"password": "${REDACTED}", "name": "x"}`);
    expect(redactText("{'token': 'abc', 'id': 1}")).toBe(`{'token': '${REDACTED}', 'id': 1}`);
    expect(redactText("OS_PASSWORD=envpw OS_USERNAME=admin")).toBe(`OS_PASSWORD=${REDACTED} OS_USERNAME=admin`);
    expect(redactText("openstack --os-password cli-pw server list")).toBe(`openstack --os-password ${REDACTED} server list`);
    expect(redactText("[client.admin]\n\tkey = AQBHKXxlAAAAABAAm0kJvM7hMuxzNEO0Sd2XgA==\n")).not.toContain("AQBHKX");
    expect(redactText("/v2/images?sort_key=name&limit=5")).toBe("/v2/images?sort_key=name&limit=5");
  });

  test("removes Fernet tokens even when not registered", () => {
    const token = `gAAAAABlWq0f${"x".repeat(100)}`;
    expect(redactText(`token ${token} expired`)).toBe(`token ${REDACTED} expired`);
  });
});
