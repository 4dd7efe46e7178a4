import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { stringify } from "yaml";
import { glanceBaseUrl, storeSchema } from "../clients/image.ts";
import { openSiteClients } from "../clients/index.ts";
import { type Config, configSchema, type Site } from "../config/schema.ts";
import { testSite, validConfig } from "../config/testing.ts";
import { PACKAGE_ROOT } from "../core/package-root.ts";
import { clearRegisteredSecrets } from "../core/redact.ts";
import { notApplicable } from "../harness/catalog.ts";
import { classifyFailure } from "../harness/failure-kind.ts";
import { downloadDigest, edgeDefaultStoreDefect, servedDataDefect, siteGlance } from "./edge-glance.ts";

/** GET /v2/info/stores as Glance answers it (fixtures/openstack/glance-info-stores.json, recorded at central). */
const recorded = JSON.parse(readFileSync(join(PACKAGE_ROOT, "fixtures/openstack/glance-info-stores.json"), "utf8")) as {
  stores: { id: string; description?: string; default?: string }[];
};
const central = recorded.stores.find((s) => s.id === "central")!;
const dcn0 = recorded.stores.find((s) => s.id === "dcn0")!;
/** What an edge Glance API lists: central's store and its own (RHOSO 18 edge: enabled_backends az0 and azN), one of them default. */
const edgeStores = (defaultId: string) =>
  [central, dcn0].map((s) => {
    const { default: _, ...rest } = s;
    return storeSchema.parse(s.id === defaultId ? { ...rest, default: "true" } : rest);
  });

const DATA = Buffer.alloc(3 * 65536 + 17, 7);
const known = { sha512: createHash("sha512").update(DATA).digest("hex"), sizeBytes: DATA.length };

let server: Server;
let base: string;
const seen: { url: string; token: string | undefined }[] = [];

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    seen.push({ url: req.url ?? "", token: req.headers["x-auth-token"] as string | undefined });
    req.resume();
    if (req.method === "POST" && req.url === "/v3/auth/tokens") {
      res.writeHead(201, { "Content-Type": "application/json", "X-Subject-Token": "tok-edge-1" });
      res.end(
        JSON.stringify({
          token: {
            expires_at: new Date(Date.now() + 3600_000).toISOString(),
            methods: ["password"],
            user: { id: "u1", name: "admin" },
            project: { id: "p1", name: "admin" },
            catalog: [
              { type: "image", endpoints: [{ interface: "public", region_id: "RegionOne", url: `${base}/glance` }] },
              { type: "block-storage", endpoints: [{ interface: "public", region_id: "RegionOne", url: `${base}/volume/v3/p1` }] },
              { type: "compute", endpoints: [{ interface: "public", region_id: "RegionOne", url: `${base}/compute/v2.1` }] },
            ],
          },
        }),
      );
    } else if (req.url === "/volume/" || req.url === "/compute/") {
      res.writeHead(200, { "Content-Type": "application/json" });
      const v =
        req.url === "/volume/" ? { id: "v3.0", version: "3.70", min_version: "3.0" } : { id: "v2.1", version: "2.96", min_version: "2.1" };
      res.end(JSON.stringify({ versions: [{ ...v, status: "CURRENT" }] }));
    } else if (req.url === "/edge/v2/info/stores") {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(
        JSON.stringify({
          stores: [
            { ...central, default: undefined },
            { ...dcn0, default: "true" },
          ],
        }),
      );
    } else if (req.url === "/edge/v2/images/img-1/file") {
      res.writeHead(200, { "Content-Type": "application/octet-stream" });
      res.end(DATA);
    } else if (req.url === "/edge/v2/images/img-empty/file") {
      res.writeHead(204);
      res.end();
    } else if (req.url === "/edge/v2/images/img-stalls/file") {
      res.writeHead(200, { "Content-Type": "application/octet-stream" });
      res.write(DATA.subarray(0, 1000));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

beforeEach(() => {
  seen.length = 0;
});

/** A site's clients opened as a run opens them, from a clouds.yaml naming the test's Keystone. */
async function siteClients(site: Partial<Site>) {
  const dir = mkdtempSync(join(tmpdir(), "dcnv-clouds-"));
  const file = join(dir, "clouds.yaml");
  const auth = { auth_url: base, username: "admin", password: "pw", user_domain_name: "Default", project_name: "admin" };
  writeFileSync(file, stringify({ clouds: { lab: { region_name: "RegionOne", auth: { ...auth, project_domain_name: "Default" } } } }));
  try {
    const cfg = { cloud: { cloud: "lab", cloudsFile: file }, timeouts: { request: 5 } as Config["timeouts"], central: {} as Site };
    return await openSiteClients(cfg, site);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    clearRegisteredSecrets();
  }
}

describe("a site's own Glance API (glance.endpoint)", () => {
  test("the config takes an http(s) URL at any site; absent, the site has none", () => {
    const cfg = configSchema.parse({
      ...validConfig(),
      edges: [testSite("dcn0", { glance: { endpoint: "https://glance-dcn0-internal.openstack.svc:9292" } }), testSite("dcn1")],
    });
    expect(cfg.edges.map((e) => e.glance)).toEqual([{ endpoint: "https://glance-dcn0-internal.openstack.svc:9292" }, undefined]);
    const bad = (glance: unknown) =>
      configSchema.safeParse({ ...validConfig(), edges: [testSite("dcn0", { glance })] }).error?.issues.map((i) => ({
        path: i.path.join("."),
        message: i.message,
      }));
    expect(bad({ endpoint: "ftp://glance-dcn0:9292" })).toEqual([{ path: "edges.0.glance.endpoint", message: "only http(s) URLs" }]);
    expect(bad({ endpoint: "glance-dcn0:9292" })?.[0]?.path).toBe("edges.0.glance.endpoint");
    expect(bad({ url: "http://glance-dcn0:9292" })?.map((i) => i.path)).toEqual(["edges.0.glance.endpoint", "edges.0.glance"]);
    expect(bad({})?.map((i) => i.path)).toEqual(["edges.0.glance.endpoint"]);
  });

  test("dcn-3b runs only at an edge that names one", () => {
    const cfg = configSchema.parse({
      ...validConfig(),
      edges: [testSite("dcn0", { glance: { endpoint: "http://glance-dcn0:9292" } }), testSite("dcn1")],
    });
    expect(notApplicable("dcn-3b-edge-glance", cfg, "dcn0")).toBeUndefined();
    expect(notApplicable("dcn-3b-edge-glance", cfg, "dcn1")).toBe("dcn1 names no Glance API of its own (glance.endpoint)");
    expect(notApplicable("dcn-3-copy-to-edge", cfg, "dcn1")).toBeUndefined();
  });

  test("its base URL drops trailing slashes and a /v2 or /v2.x", () => {
    expect(glanceBaseUrl("https://glance-az1-internal.openstack.svc:9292")).toBe("https://glance-az1-internal.openstack.svc:9292");
    expect(glanceBaseUrl("https://glance-az1:9292/")).toBe("https://glance-az1:9292");
    expect(glanceBaseUrl("https://glance-az1:9292/v2/")).toBe("https://glance-az1:9292");
    expect(glanceBaseUrl("https://lb.example/image/v2.16")).toBe("https://lb.example/image");
    expect(glanceBaseUrl("https://lb.example/v2image")).toBe("https://lb.example/v2image");
  });

  test("a site that names one gets a client bound to it with the run's token; the catalog's Glance is unchanged", async () => {
    const c = await siteClients({ glance: { endpoint: `${base}/edge/v2/` } });
    expect(await c.siteImage!.http.endpoint()).toBe(`${base}/edge`);
    expect(await c.image.http.endpoint()).toBe(`${base}/glance`);
    expect((await c.siteImage!.listStores()).map((s) => [s.id, s.default])).toEqual([
      ["central", undefined],
      ["dcn0", "true"],
    ]);
    expect(seen.filter((s) => s.url.startsWith("/edge/"))).toEqual([{ url: "/edge/v2/info/stores", token: "tok-edge-1" }]);
    expect(siteGlance({ site: { ...(testSite("dcn0") as Site), glance: { endpoint: `${base}/edge/v2/` } }, clients: c }).endpoint).toBe(
      `${base}/edge/v2/`,
    );
  });

  test("a site that names none gets no such client", async () => {
    const c = await siteClients({});
    expect(c.siteImage).toBeUndefined();
    expect(() => siteGlance({ site: testSite("dcn1") as Site, clients: c })).toThrow(
      "site dcn1 names no Glance API of its own (glance.endpoint)",
    );
  });
});

describe("its default store", () => {
  const site = { name: "dcn0", store: "dcn0" };
  const endpoint = "https://glance-dcn0-internal.openstack.svc:9292";

  test('the site\'s store flagged default (the string "true") passes', () => {
    expect(edgeDefaultStoreDefect(site, endpoint, edgeStores("dcn0"))).toBeUndefined();
  });

  test("central's store as its default fails, naming the site, the endpoint, what it reports and what was expected", () => {
    expect(edgeDefaultStoreDefect(site, endpoint, edgeStores("central"))).toBe(
      "dcn0's Glance API https://glance-dcn0-internal.openstack.svc:9292 reports default store central, expected dcn0 (its stores: central, dcn0)",
    );
  });

  test('no store flagged default, or a "false" flag, fails too', () => {
    expect(edgeDefaultStoreDefect(site, endpoint, edgeStores("none"))).toBe(
      "dcn0's Glance API https://glance-dcn0-internal.openstack.svc:9292 reports default store (none flagged default), expected dcn0 (its stores: central, dcn0)",
    );
    const falseFlag = [storeSchema.parse({ id: "dcn0", default: "false" })];
    expect(edgeDefaultStoreDefect(site, endpoint, falseFlag)).toMatch(/reports default store \(none flagged default\), expected dcn0/);
  });
});

describe("the image it serves", () => {
  const site = { name: "dcn0" };

  test("downloads through the site's API, hashed as it streams: the harness's bytes pass", async () => {
    const c = await siteClients({ glance: { endpoint: `${base}/edge` } });
    const served = await downloadDigest(c.siteImage!, "img-1", 5000);
    expect(served).toEqual({ sha512: known.sha512, bytes: known.sizeBytes });
    expect(seen.filter((s) => s.url.startsWith("/edge/"))).toEqual([{ url: "/edge/v2/images/img-1/file", token: "tok-edge-1" }]);
    expect(servedDataDefect(site, `${base}/edge`, "img-1", known, served)).toBeUndefined();
  });

  test("other bytes, or none, fail naming the site, the endpoint, the image and both hashes", async () => {
    const other = { sha512: "ab".repeat(64), bytes: known.sizeBytes };
    expect(servedDataDefect(site, "http://glance-dcn0:9292", "img-1", known, other)).toBe(
      `dcn0's Glance API http://glance-dcn0:9292 serves image img-1 as ${known.sizeBytes} bytes with sha512 ${other.sha512}, ` +
        `not the ${known.sizeBytes} bytes the harness uploaded (sha512 ${known.sha512})`,
    );
    expect(servedDataDefect(site, "http://glance-dcn0:9292", "img-1", known, { sha512: known.sha512, bytes: known.sizeBytes - 1 })).toMatch(
      /serves image img-1 as \d+ bytes/,
    );
    const c = await siteClients({ glance: { endpoint: `${base}/edge` } });
    const none = await downloadDigest(c.siteImage!, "img-empty", 5000);
    expect(none).toBeUndefined();
    expect(servedDataDefect(site, "http://glance-dcn0:9292", "img-empty", known, none)).toBe(
      "dcn0's Glance API http://glance-dcn0:9292 returns no data for image img-empty (HTTP 204)",
    );
  });

  test("a download that does not end within the timeout fails as infrastructure, with the bytes read", async () => {
    const c = await siteClients({ glance: { endpoint: `${base}/edge` } });
    const t0 = Date.now();
    const e = await downloadDigest(c.siteImage!, "img-stalls", 400).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(Date.now() - t0).toBeLessThan(3000);
    expect((e as Error).message).toMatch(/^the data of image img-stalls did not end within 0\.4 s \(1000 bytes read\)$/);
    expect(classifyFailure(e)).toBe("infrastructure");
  });
});
