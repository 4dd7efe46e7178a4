import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { z } from "zod";
import { ApiError, errorDetail, HttpClient, onRequest, type RequestEvent, ResponseValidationError } from "./http.ts";
import { clearRegisteredSecrets, registerSecret } from "./redact.ts";

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;
let handler: Handler;
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.headers["x-no-buffer-test"]) return handler(req, res, Buffer.alloc(0));
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handler(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
afterEach(() => clearRegisteredSecrets());

function client(extra: Partial<ConstructorParameters<typeof HttpClient>[0]> = {}) {
  const events: RequestEvent[] = [];
  const c = new HttpClient({
    service: "glance",
    endpoint: base,
    timeoutMs: 2000,
    retries: 2,
    retryDelayMs: 1,
    retryDelayMaxMs: 2,
    onRequest: (e) => events.push(e),
    ...extra,
  });
  return { c, events };
}

async function rejection<E extends ApiError = ApiError>(p: Promise<unknown>): Promise<E> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    return e as E;
  }
  throw new Error("the request succeeded; it should have failed");
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "Content-Type": "application/json", "x-openstack-request-id": "req-1234", ...headers });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
}

describe("HttpClient", () => {
  test("retries a GET after 5xx, with every attempt observed", async () => {
    let n = 0;
    handler = (_req, res) => (++n < 3 ? reply(res, 503, "busy") : reply(res, 200, { ok: true }));
    const { c, events } = client();
    const res = await c.request("GET", "/v2/images", {
      expect: 200,
      query: { name: "a b", limit: 2 },
      schema: z.looseObject({ ok: z.boolean() }),
    });
    expect(res.data.ok).toBe(true);
    expect(events.map((e) => [e.method, e.status, e.attempt])).toEqual([
      ["GET", 503, 1],
      ["GET", 503, 2],
      ["GET", 200, 3],
    ]);
    expect(events[0]!.url).toBe(`${base}/v2/images?name=a+b&limit=2`);
    expect(events[0]!.service).toBe("glance");
    expect(events[2]!.requestId).toBe("req-1234");
  });

  test("gives up after the bounded number of retries", async () => {
    handler = (_req, res) => reply(res, 500, { computeFault: { message: "boom", code: 500 } });
    const { c, events } = client();
    const e = await rejection(c.request("DELETE", "/servers/1", { expect: 204 }));
    expect(e).toBeInstanceOf(ApiError);
    expect(events).toHaveLength(3);
    expect(e.attempts).toBe(3);
    expect(e.message).toBe("glance DELETE /servers/1 -> 500 Internal Server Error after 3 attempts: boom [req-1234]");
  });

  test("never retries a POST", async () => {
    handler = (_req, res) =>
      reply(res, 503, "<html><body><h1>503 Service Unavailable</h1>No server is available.</body></html>", { "Content-Type": "text/html" });
    const { c, events } = client();
    const e = await rejection(c.request("POST", "/v2/images/x/import", { expect: 202, json: { method: { name: "copy-image" } } }));
    expect(events).toHaveLength(1);
    expect(e.status).toBe(503);
    expect(e.method).toBe("POST");
    expect(e.path).toBe("/v2/images/x/import");
    expect(e.requestId).toBe("req-1234");
    expect(e.detail).toBe("503 Service Unavailable No server is available.");
  });

  test("retries network errors on idempotent methods only", async () => {
    handler = (req) => req.socket.destroy();
    const get = client();
    const e1 = await rejection(get.c.request("GET", "/x", { expect: 200 }));
    expect(get.events).toHaveLength(3);
    expect(e1.status).toBeUndefined();
    expect(e1.code).toBe("ECONNRESET");
    expect(e1.message).toMatch(/^glance GET \/x failed after 3 attempts: ECONNRESET/);
    const post = client();
    await post.c.request("POST", "/x", { expect: 200, json: {} }).catch(() => undefined);
    expect(post.events).toHaveLength(1);
  });

  test("a request that gets no answer times out", async () => {
    handler = () => undefined;
    const { c } = client({ timeoutMs: 100, retries: 0 });
    const e = await rejection(c.request("GET", "/slow", { expect: 200 }));
    expect(e.code).toMatch(/ECONNABORTED|ETIMEDOUT/);
  });

  test("an unexpected status is an ApiError with the redacted body", async () => {
    registerSecret("runtime-token-value");
    handler = (_req, res) => reply(res, 409, { conflictingRequest: { message: "token runtime-token-value in use", code: 409 } });
    const { c } = client();
    const e = await rejection(c.request("PUT", "/v2/images/1/file", { expect: 204, body: Buffer.from("x") }));
    expect(e.status).toBe(409);
    expect(e.body).not.toContain("runtime-token-value");
    expect(e.message).toBe("glance PUT /v2/images/1/file -> 409 Conflict: token *** in use [req-1234]");
  });

  test("a body that does not match the schema names method, path, status and the redacted body", async () => {
    handler = (_req, res) => reply(res, 200, { images: [{ id: 1, password: "pw-in-body" }] });
    const { c } = client();
    const e = await rejection<ResponseValidationError>(
      c.request("GET", "/v2/images", { expect: 200, schema: z.object({ images: z.array(z.object({ id: z.string() })) }) }),
    );
    expect(e).toBeInstanceOf(ResponseValidationError);
    expect(e.message).toContain(
      "glance GET /v2/images -> 200: response does not match the expected schema: images[0].id: Invalid input: expected string, received number",
    );
    expect(e.message).toContain('"password":"***"');
    expect(e.message).not.toContain("pw-in-body");
  });

  test("re-authenticates once on a 401 and re-sends", async () => {
    let token = "old";
    let reauths = 0;
    handler = (req, res) =>
      req.headers["x-auth-token"] === "new"
        ? reply(res, 200, {})
        : reply(res, 401, { error: { message: "The request you have made requires authentication.", code: 401 } });
    const auth = {
      authHeaders: async () => ({ "X-Auth-Token": token }),
      reauthenticate: async () => {
        reauths++;
        token = "new";
      },
    };
    const { c, events } = client({ auth });
    await c.request("POST", "/servers", { expect: 200, json: {} });
    expect(reauths).toBe(1);
    expect(events.map((e) => e.status)).toEqual([401, 200]);
  });

  test("a second 401 is an error, not a loop", async () => {
    handler = (_req, res) => reply(res, 401, { error: { message: "no", code: 401 } });
    let reauths = 0;
    const auth = {
      authHeaders: async () => ({ "X-Auth-Token": "t" }),
      reauthenticate: async () => {
        reauths++;
      },
    };
    const { c } = client({ auth });
    const e = await rejection(c.request("GET", "/x", { expect: 200 }));
    expect(e.status).toBe(401);
    expect(reauths).toBe(1);
  });

  test("an observer registered with onRequest sees every client's requests until it unsubscribes", async () => {
    handler = (_req, res) => reply(res, 200, {});
    const seen: string[] = [];
    const off = onRequest((e) => seen.push(`${e.service} ${e.method} ${e.status}`));
    await client().c.request("GET", "/a", { expect: 200 });
    await new HttpClient({ service: "cinder", endpoint: base, timeoutMs: 1000 }).request("HEAD", "/b", {
      expect: 200,
      responseType: "text",
    });
    off();
    await client().c.request("GET", "/c", { expect: 200 });
    expect(seen).toEqual(["glance GET 200", "cinder HEAD 200"]);
  });

  test("streams an upload without buffering it", async () => {
    const chunk = Buffer.alloc(256 * 1024, 7);
    const total = 16;
    let received = 0;
    let contentType: string | undefined;
    let transferEncoding: string | undefined;
    let serverSawData!: () => void;
    const firstData = new Promise<void>((r) => (serverSawData = r));
    handler = (req, res) => {
      contentType = req.headers["content-type"];
      transferEncoding = req.headers["transfer-encoding"];
      req.on("data", (c: Buffer) => {
        received += c.length;
        serverSawData();
      });
      req.on("end", () => reply(res, 204, ""));
    };
    let sent = 0;
    const body = new Readable({
      async read() {
        // NOTE: after the first chunk, wait for the server to see bytes: a buffering client would never send them.
        if (sent === 1) await firstData;
        this.push(sent < total ? chunk : null);
        sent++;
      },
    });
    const { c } = client();
    await c.request("PUT", "/v2/images/1/file", { expect: 204, body, headers: { "X-No-Buffer-Test": "1" }, responseType: "text" });
    expect(received).toBe(total * chunk.length);
    expect(contentType).toBe("application/octet-stream");
    expect(transferEncoding).toBe("chunked");
  });
});

describe("errorDetail", () => {
  test("reads the OpenStack error shapes", () => {
    expect(errorDetail('{"itemNotFound": {"message": "Volume x could not be found.", "code": 404}}')).toBe("Volume x could not be found.");
    expect(
      errorDetail('{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}'),
    ).toBe("The request you have made requires authentication.");
    expect(errorDetail('{"NeutronError": {"type": "X", "message": "gone", "detail": ""}}')).toBe("gone");
    expect(
      errorDetail(
        "<html>\n <head>\n  <title>400 Bad Request</title>\n </head>\n <body>\n  <h1>400 Bad Request</h1>\n  Image is already present at store &#39;central&#39;<br /><br />\n\n\n\n </body>\n</html>",
      ),
    ).toBe("400 Bad Request Image is already present at store 'central'");
    expect(
      errorDetail(
        JSON.stringify({
          message: "Image is already present at store 'dcn0'<br /><br />\n\n\n",
          code: "400 Bad Request",
          title: "Bad Request",
        }),
      ),
    ).toBe("Image is already present at store 'dcn0'");
    expect(errorDetail("plain")).toBe("");
  });
});
