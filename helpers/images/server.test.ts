import { mkdtempSync, writeFileSync } from "node:fs";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import axios from "axios";
import { describe, expect, test } from "vitest";
import { bindErrorMessage, startImageServer } from "./server.ts";

// A fresh connection per request: a kept-alive socket would see the close as a reset, not a refusal.
const get = (url: string, method: "GET" | "HEAD" = "GET") =>
  axios.request({
    url,
    method,
    proxy: false,
    validateStatus: () => true,
    responseType: "text",
    timeout: 5000,
    httpAgent: new Agent({ keepAlive: false }),
  });

describe("the run's image server", () => {
  test("serves only the run's files, under its random prefix, and stops when closed", async () => {
    const root = mkdtempSync(join(tmpdir(), "dcnv-web-"));
    writeFileSync(join(root, "img.raw"), Buffer.alloc(4096, 1));
    const s = await startImageServer({ bind: "127.0.0.1", port: 0 }, root);
    expect(s.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{24}$/);
    const ok = await get(`${s.baseUrl}/img.raw`);
    expect(ok.status).toBe(200);
    expect(ok.headers["content-length"]).toBe("4096");
    expect((await get(`${s.baseUrl}/img.raw`, "HEAD")).status).toBe(200);
    const origin = s.baseUrl.replace(/\/[0-9a-f]{24}$/, "");
    expect((await get(`${origin}/img.raw`)).status).toBe(404);
    expect((await get(`${origin}/wrongtoken000000000000000/img.raw`)).status).toBe(404);
    expect((await get(`${s.baseUrl}/..%2Fimg.raw`)).status).toBe(404);
    expect((await get(`${s.baseUrl}/missing.raw`)).status).toBe(404);
    expect((await axios.post(`${s.baseUrl}/img.raw`, "x", { proxy: false, validateStatus: () => true })).status).toBe(404);
    await s.close();
    const err = await get(`${s.baseUrl}/img.raw`).then(
      () => undefined,
      (e: { code?: string }) => e.code,
    );
    expect(err).toBe("ECONNREFUSED");
  });

  test("advertises the configured URL, and a port in use is a clear error naming the fields", async () => {
    const root = mkdtempSync(join(tmpdir(), "dcnv-web-"));
    const a = await startImageServer({ bind: "127.0.0.1", port: 0 }, root);
    const port = Number(new URL(a.baseUrl).port);
    await expect(startImageServer({ bind: "127.0.0.1", port, advertiseUrl: "http://10.0.0.5:8089/" }, root)).rejects.toThrow(
      /webDownload: cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\): another process listens there; stop it, or set webDownload\.port/,
    );
    await a.close();
    const b = await startImageServer({ bind: "127.0.0.1", port, advertiseUrl: "http://10.0.0.5:8089/" }, root);
    expect(b.baseUrl).toMatch(/^http:\/\/10\.0\.0\.5:8089\/[0-9a-f]{24}$/);
    await b.close();
  });

  test("EACCES names webDownload.port and the ways to serve on 80/443; a foreign address names webDownload.bind", async () => {
    const cfg = { bind: "0.0.0.0", port: 80 };
    const eacces = bindErrorMessage(cfg, Object.assign(new Error("listen EACCES"), { code: "EACCES" }));
    expect(eacces).toMatch(/^webDownload: cannot listen on 0\.0\.0\.0:80 \(EACCES\): a port below 1024 needs root or CAP_NET_BIND_SERVICE/);
    expect(eacces).toContain("set webDownload.port");
    expect(eacces).toContain("webDownload.advertiseUrl");
    await expect(startImageServer({ bind: "192.0.2.1", port: 0 }, mkdtempSync(join(tmpdir(), "dcnv-web-")))).rejects.toThrow(
      "(EADDRNOTAVAIL): 192.0.2.1 is not an address of this host; set webDownload.bind",
    );
  });

  // NOTE: binding port 80 needs root (or CAP_NET_BIND_SERVICE); the CI machine runs as root.
  test.runIf(process.getuid?.() === 0)("as root it serves on port 80, which stock Glance allows", async () => {
    const root = mkdtempSync(join(tmpdir(), "dcnv-web-"));
    writeFileSync(join(root, "img.raw"), Buffer.alloc(512, 1));
    const s = await startImageServer({ bind: "127.0.0.1", port: 80 }, root);
    try {
      expect(s.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:80\/[0-9a-f]{24}$/);
      expect((await get(`${s.baseUrl}/img.raw`)).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});
