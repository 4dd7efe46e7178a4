import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { clearRegisteredSecrets, redactText } from "../core/redact.ts";
import type { CloudCredentials } from "./credentials.ts";
import { authRequestBody, type CatalogEntry, findEndpoint, identityV3Url, Session } from "./identity.ts";

let server: Server;
let base: string;
let issued = 0;
let expiresInS = 3600;
let authBodies: unknown[] = [];
let validToken = "";

const catalog = (b: string): CatalogEntry[] => [
  { type: "identity", name: "keystone", endpoints: [{ interface: "public", region_id: "RegionOne", region: "RegionOne", url: `${b}/v3` }] },
  {
    type: "image",
    name: "glance",
    endpoints: [
      { interface: "public", region_id: "RegionOne", region: "RegionOne", url: `${b}/glance` },
      { interface: "internal", region_id: "RegionOne", region: "RegionOne", url: `${b}/glance-internal` },
      { interface: "public", region_id: "RegionTwo", region: "RegionTwo", url: `${b}/glance-two` },
    ],
  },
  {
    type: "block-storage",
    name: "cinderv3",
    endpoints: [{ interface: "public", region_id: "RegionOne", region: "RegionOne", url: `${b}/volume/v3/p1` }],
  },
];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.method === "POST" && req.url === "/v3/auth/tokens") {
        authBodies.push(JSON.parse(Buffer.concat(chunks).toString()));
        issued++;
        validToken = `gAAAAAtoken${issued}`;
        res.writeHead(201, { "Content-Type": "application/json", "X-Subject-Token": validToken });
        res.end(
          JSON.stringify({
            token: {
              methods: ["password"],
              expires_at: new Date(Date.now() + expiresInS * 1000).toISOString(),
              user: { id: "u1", name: "admin", domain: { id: "default", name: "Default" } },
              project: { id: "p1", name: "admin", domain: { id: "default", name: "Default" } },
              roles: [{ id: "r1", name: "admin" }],
              catalog: catalog(base),
            },
          }),
        );
        return;
      }
      const ok = req.headers["x-auth-token"] === validToken;
      res.writeHead(ok ? 200 : 401, { "Content-Type": "application/json" });
      res.end(
        JSON.stringify(ok ? { url: req.url } : { error: { code: 401, message: "The request you have made requires authentication." } }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  issued = 0;
  expiresInS = 3600;
  authBodies = [];
  clearRegisteredSecrets();
});

const creds = (): CloudCredentials => ({
  cloud: "lab",
  source: "test",
  interface: "public",
  regionName: "RegionOne",
  verify: true,
  auth: {
    type: "password",
    authUrl: base,
    username: "admin",
    password: "pw",
    userDomainName: "Default",
    projectName: "admin",
    projectDomainName: "Default",
  },
});

describe("Session", () => {
  test("password auth: body, token kept, ids, catalog lookup by type, interface and region", async () => {
    const s = await Session.authenticate(creds(), { timeoutMs: 2000 });
    expect(authBodies[0]).toEqual({
      auth: {
        identity: { methods: ["password"], password: { user: { name: "admin", domain: { name: "Default" }, password: "pw" } } },
        scope: { project: { name: "admin", domain: { name: "Default" } } },
      },
    });
    expect([s.userId, s.projectId, s.projectName, s.roles]).toEqual(["u1", "p1", "admin", ["admin"]]);
    expect(s.endpoint("image")).toBe(`${base}/glance`);
    expect(s.endpoint("image", { interface: "internal" })).toBe(`${base}/glance-internal`);
    expect(s.endpoint("image", { region: "RegionTwo" })).toBe(`${base}/glance-two`);
    expect(s.endpoint("volumev3")).toBe(`${base}/volume/v3/p1`);
    expect(redactText(`token gAAAAAtoken1 here`)).toBe("token *** here");
  });

  test("a missing service names what the catalog has", async () => {
    const s = await Session.authenticate(creds(), { timeoutMs: 2000 });
    expect(() => s.endpoint("compute")).toThrow(
      "no public endpoint for service type 'compute' in region 'RegionOne'; the catalog has: identity (keystone): public@RegionOne; image (glance): public@RegionOne, internal@RegionOne, public@RegionTwo; block-storage (cinderv3): public@RegionOne",
    );
    expect(() => s.endpoint("image", { region: "RegionThree" })).toThrow(/in region 'RegionThree'/);
  });

  test("re-authenticates before expires_at", async () => {
    let now = Date.now();
    const s = await Session.authenticate(creds(), { timeoutMs: 2000, refreshMarginS: 60, now: () => now });
    await s.authHeaders();
    expect(s.authentications).toBe(1);
    now += 3600 * 1000 - 30 * 1000;
    expect(await s.authHeaders()).toEqual({ "X-Auth-Token": "gAAAAAtoken2" });
    expect(s.authentications).toBe(2);
  });

  test("concurrent callers share one re-authentication", async () => {
    const s = await Session.authenticate(creds(), { timeoutMs: 2000 });
    await Promise.all([s.reauthenticate(), s.reauthenticate(), s.reauthenticate()]);
    expect(s.authentications).toBe(2);
  });

  test("a token revoked mid-run is replaced once on a 401", async () => {
    const s = await Session.authenticate(creds(), { timeoutMs: 2000 });
    const http = s.client("glance", "image");
    validToken = "revoked-elsewhere";
    const res = await http.request("GET", "/v2/images", { expect: 200 });
    expect(res.data).toEqual({ url: "/glance/v2/images" });
    expect(s.authentications).toBe(2);
  });
});

describe("auth helpers", () => {
  test("identityV3Url", () => {
    expect(identityV3Url("http://k:5000")).toBe("http://k:5000/v3");
    expect(identityV3Url("http://k:5000/v3/")).toBe("http://k:5000/v3");
    expect(identityV3Url("http://k/identity")).toBe("http://k/identity/v3");
  });

  test("application credential bodies", () => {
    expect(
      authRequestBody({ type: "v3applicationcredential", authUrl: "x", applicationCredentialId: "id", applicationCredentialSecret: "s" }),
    ).toEqual({
      auth: { identity: { methods: ["application_credential"], application_credential: { id: "id", secret: "s" } } },
    });
    expect(
      authRequestBody({
        type: "v3applicationcredential",
        authUrl: "x",
        applicationCredentialName: "n",
        applicationCredentialSecret: "s",
        username: "u",
        userDomainId: "default",
      }),
    ).toEqual({
      auth: {
        identity: {
          methods: ["application_credential"],
          application_credential: { name: "n", secret: "s", user: { name: "u", domain: { id: "default" } } },
        },
      },
    });
  });

  test("project id scope wins over name", () => {
    const body = authRequestBody({
      type: "password",
      authUrl: "x",
      userId: "u1",
      password: "p",
      projectId: "p1",
      projectName: "ignored",
    }) as any;
    expect(body.auth.scope).toEqual({ project: { id: "p1" } });
    expect(body.auth.identity.password.user).toEqual({ id: "u1", password: "p" });
  });

  test("findEndpoint accepts the volumev3 aliases", () => {
    const cat: CatalogEntry[] = [{ type: "volumev3", endpoints: [{ interface: "public", region_id: "R", url: "http://c/v3/p/" }] }];
    expect(findEndpoint(cat, "volumev3", { interface: "public" })).toBe("http://c/v3/p");
    expect(findEndpoint(cat, "block-storage", { interface: "public" })).toBe("http://c/v3/p");
  });
});
