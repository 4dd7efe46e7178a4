import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import type { Config, Site } from "../config/schema.ts";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { clearRegisteredSecrets, redactText } from "../core/redact.ts";
import type { CloudCredentials } from "./credentials.ts";
import { ComputeClient } from "./compute.ts";
import { authRequestBody, type CatalogEntry, endpointOverride, findEndpoint, identityV3Url, Session } from "./identity.ts";
import { ImageClient } from "./image.ts";
import { openSiteClients } from "./index.ts";
import { VolumeClient } from "./volume.ts";

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
    endpoints: [
      { interface: "public", region_id: "RegionOne", region: "RegionOne", url: `${b}/volume/v3/p1` },
      { interface: "public", region_id: "RegionTwo", region: "RegionTwo", url: `${b}/volume-two/v3/p1` },
    ],
  },
  {
    type: "compute",
    name: "nova",
    endpoints: [
      { interface: "public", region_id: "RegionOne", region: "RegionOne", url: `${b}/compute/v2.1` },
      { interface: "public", region_id: "RegionTwo", region: "RegionTwo", url: `${b}/compute-two/v2.1` },
    ],
  },
];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.method === "POST" && req.url === "/v3/auth/tokens") {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { auth: { identity: { token?: { id: string } } } };
        authBodies.push(body);
        const presented = body.auth.identity.token?.id;
        if (presented !== undefined && presented !== "pre-issued-token") {
          res.writeHead(401, { "Content-Type": "application/json" });
          res.end(JSON.stringify({ error: { code: 401, message: "The request you have made requires authentication." } }));
          return;
        }
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
      if (req.url?.startsWith("/slow")) {
        setTimeout(() => {
          res.writeHead(200, { "Content-Type": "application/json" });
          res.end("{}");
        }, 1500);
        return;
      }
      const ok = req.headers["x-auth-token"] === validToken;
      const root = /^\/(volume|compute)(-two)?\/?$/.exec(req.url ?? "");
      if (ok && root) {
        const v =
          root[1] === "volume" ? { id: "v3.0", version: "3.70", min_version: "3.0" } : { id: "v2.1", version: "2.90", min_version: "2.1" };
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ versions: [{ ...v, status: "CURRENT" }] }));
        return;
      }
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
    expect(() => s.endpoint("network")).toThrow(
      "no public endpoint for service type 'network' in region 'RegionOne'; the catalog has: identity (keystone): public@RegionOne; image (glance): public@RegionOne, internal@RegionOne, public@RegionTwo; block-storage (cinderv3): public@RegionOne, public@RegionTwo; compute (nova): public@RegionOne, public@RegionTwo",
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

describe("token auth, endpoint overrides, regions, api_timeout", () => {
  const tokenCreds = (): CloudCredentials => ({
    cloud: "t",
    source: "test",
    interface: "public",
    regionName: "RegionOne",
    verify: true,
    auth: { type: "token", authUrl: base, token: "pre-issued-token", projectName: "admin", projectDomainName: "Default" },
  });

  test("a pre-issued token is exchanged for a project-scoped one, again on re-authentication, and never shown", async () => {
    const s = await Session.authenticate(tokenCreds(), { timeoutMs: 2000 });
    expect(authBodies[0]).toEqual({
      auth: {
        identity: { methods: ["token"], token: { id: "pre-issued-token" } },
        scope: { project: { name: "admin", domain: { name: "Default" } } },
      },
    });
    expect(s.projectId).toBe("p1");
    await s.reauthenticate();
    expect(authBodies).toHaveLength(2);
    expect(redactText("X-Auth-Token: gAAAAAtoken2")).toBe("X-Auth-Token: ***");
  });

  test("a refused token fails with Keystone's message, without the token", async () => {
    const c = tokenCreds();
    c.auth = { ...c.auth, token: "expired-token-xyz" } as typeof c.auth;
    const err = (await Session.authenticate(c, { timeoutMs: 2000 }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/^keystone POST \/v3\/auth\/tokens -> 401/);
    expect(err.message).not.toContain("expired-token-xyz");
  });

  test("<service>_endpoint_override replaces the catalog, under openstacksdk's aliases, with %(project_id)s filled", async () => {
    const c = creds();
    c.endpointOverrides = {
      image: `${base}/glance-override/`.replace(/\/$/, ""),
      volume: `${base}/cinder-override/v3/%(project_id)s`,
      compute: `${base}/nova-override/v2.1`,
    };
    const s = await Session.authenticate(c, { timeoutMs: 2000 });
    expect(s.endpoint("image")).toBe(`${base}/glance-override`);
    expect(s.endpoint("image", { region: "RegionTwo" })).toBe(`${base}/glance-override`);
    expect(s.endpoint("volumev3")).toBe(`${base}/cinder-override/v3/p1`);
    expect(s.endpoint("block-storage")).toBe(`${base}/cinder-override/v3/p1`);
    const res = await new ImageClient(s).http.request("GET", "/v2/images", { expect: 200 });
    expect(res.data).toEqual({ url: "/glance-override/v2/images" });
    expect(endpointOverride({ block_storage: "http://a", volume: "http://b" }, "volumev3")).toBe("http://a");
    expect(endpointOverride({ compute: "http://n" }, "image")).toBeUndefined();
  });

  test("a client in another region resolves that region's endpoint; without one, the credential's", async () => {
    const s = await Session.authenticate(creds(), { timeoutMs: 2000 });
    expect(await new VolumeClient(s, { region: "RegionTwo" }).http.endpoint()).toBe(`${base}/volume-two/v3/p1`);
    expect(await new ComputeClient(s, { region: "RegionTwo" }).http.endpoint()).toBe(`${base}/compute-two/v2.1`);
    expect(await new ImageClient(s, { region: "RegionTwo" }).http.endpoint()).toBe(`${base}/glance-two`);
    expect(await new VolumeClient(s).http.endpoint()).toBe(`${base}/volume/v3/p1`);
    await expect(new ComputeClient(s, { region: "RegionNine" }).http.endpoint()).rejects.toThrow(
      /no public endpoint for service type 'compute' in region 'RegionNine'/,
    );
  });

  test("a site's clients: Cinder and Nova in the site's region, Glance in central's", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dcnv-clouds-"));
    const file = join(dir, "clouds.yaml");
    const a = creds().auth as Extract<CloudCredentials["auth"], { type: "password" }>;
    writeFileSync(
      file,
      stringify({
        clouds: {
          lab: {
            region_name: "RegionTwo",
            auth: {
              auth_url: a.authUrl,
              username: a.username,
              password: a.password,
              user_domain_name: "Default",
              project_name: "admin",
              project_domain_name: "Default",
            },
          },
        },
      }),
    );
    const cfg = { cloud: { cloud: "lab", cloudsFile: file }, timeouts: { request: 5 } as Config["timeouts"] };
    try {
      const edge = await openSiteClients({ ...cfg, central: { region: "RegionOne" } as Site }, { region: "RegionTwo" });
      expect(await edge.volume.http.endpoint()).toBe(`${base}/volume-two/v3/p1`);
      expect(await edge.compute.http.endpoint()).toBe(`${base}/compute-two/v2.1`);
      expect(await edge.image.http.endpoint()).toBe(`${base}/glance`);
      const central = await openSiteClients({ ...cfg, central: { region: "RegionOne" } as Site }, { region: "RegionOne" });
      expect(await central.volume.http.endpoint()).toBe(`${base}/volume/v3/p1`);
      const noRegions = await openSiteClients({ ...cfg, central: {} as Site }, {});
      expect([await noRegions.volume.http.endpoint(), await noRegions.image.http.endpoint()]).toEqual([
        `${base}/volume-two/v3/p1`,
        `${base}/glance-two`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("api_timeout is every request's timeout, over the session's default", async () => {
    const s = await Session.authenticate({ ...creds(), apiTimeoutS: 0.3 }, { timeoutMs: 5000, retries: 0 });
    expect(s.timeoutMs).toBe(300);
    const slow = s.client("slow", "image", { url: `${base}/slow` });
    const t0 = Date.now();
    await expect(slow.request("GET", "/", { expect: 200 })).rejects.toThrow(/slow GET \/slow\/ failed: ECONNABORTED/);
    expect(Date.now() - t0).toBeLessThan(1200);
    const plain = await Session.authenticate(creds(), { timeoutMs: 5000, retries: 0 });
    expect(plain.timeoutMs).toBe(5000);
    await expect(plain.client("slow", "image", { url: `${base}/slow` }).request("GET", "/", { expect: 200 })).resolves.toMatchObject({
      status: 200,
    });
  });
});

describe("TLS: cacert and a client certificate", () => {
  let dir = "";
  let tls: ReturnType<typeof createHttpsServer>;
  let tlsBase = "";
  const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "dcnv-tls-"));
    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=dcnv test CA");
    for (const [name, ext] of [
      ["server", "subjectAltName=IP:127.0.0.1"],
      ["client", "extendedKeyUsage=clientAuth"],
    ] as const) {
      ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
      writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
      ssl(
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        `${name}.pem`,
        "-days",
        "1",
        "-extfile",
        `${name}.ext`,
      );
    }
    tls = createHttpsServer(
      {
        key: readFileSync(join(dir, "server.key")),
        cert: readFileSync(join(dir, "server.pem")),
        ca: readFileSync(join(dir, "ca.pem")),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        const peer = (req.socket as import("node:tls").TLSSocket).getPeerCertificate();
        req.resume();
        req.on("end", () => {
          res.writeHead(201, { "Content-Type": "application/json", "X-Subject-Token": "tls-token" });
          res.end(
            JSON.stringify({
              token: {
                methods: ["password"],
                expires_at: new Date(Date.now() + 3600_000).toISOString(),
                user: { id: "u1", name: peer.subject?.CN ?? "?" },
                project: { id: "p1", name: "admin" },
                catalog: [],
              },
            }),
          );
        });
      },
    );
    await new Promise<void>((r) => tls.listen(0, "127.0.0.1", r));
    tlsBase = `https://127.0.0.1:${(tls.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    if (tls) await new Promise<void>((r) => tls.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  const tlsCreds = (extra: Partial<CloudCredentials>): CloudCredentials => ({
    ...creds(),
    auth: { ...creds().auth, authUrl: tlsBase },
    ...extra,
  });

  test("with cacert, cert and key the session authenticates, presenting the client certificate", async () => {
    const s = await Session.authenticate(
      tlsCreds({ cacert: join(dir, "ca.pem"), cert: join(dir, "client.pem"), key: join(dir, "client.key") }),
      { timeoutMs: 5000, retries: 0 },
    );
    expect(s.userName).toBe("client");
    const combined = join(dir, "client-and-key.pem");
    writeFileSync(combined, Buffer.concat([readFileSync(join(dir, "client.pem")), readFileSync(join(dir, "client.key"))]));
    const one = await Session.authenticate(tlsCreds({ cacert: join(dir, "ca.pem"), cert: combined }), { timeoutMs: 5000, retries: 0 });
    expect(one.userName).toBe("client");
  });

  test("without the client certificate the server refuses; without cacert the server is not trusted", async () => {
    await expect(Session.authenticate(tlsCreds({ cacert: join(dir, "ca.pem") }), { timeoutMs: 5000, retries: 0 })).rejects.toThrow(
      /keystone POST \/v3\/auth\/tokens failed/,
    );
    await expect(
      Session.authenticate(tlsCreds({ cert: join(dir, "client.pem"), key: join(dir, "client.key") }), { timeoutMs: 5000, retries: 0 }),
    ).rejects.toThrow(/SELF_SIGNED_CERT_IN_CHAIN|unable to get local issuer|self.signed/i);
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
