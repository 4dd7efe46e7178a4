import { mkdtempSync, writeFileSync } from "node:fs";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import axios from "axios";
import { describe, expect, test } from "vitest";
import { startImageServer } from "./server.ts";

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
      /webDownload: cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\); set webDownload\.bind\/port/,
    );
    await a.close();
    const b = await startImageServer({ bind: "127.0.0.1", port, advertiseUrl: "http://10.0.0.5:8089/" }, root);
    expect(b.baseUrl).toMatch(/^http:\/\/10\.0\.0\.5:8089\/[0-9a-f]{24}$/);
    await b.close();
  });
});
