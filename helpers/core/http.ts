import http from "node:http";
import https from "node:https";
import { Readable } from "node:stream";
import axios, { type AxiosError, type AxiosInstance, type AxiosResponse } from "axios";
import type { z } from "zod";
import { cloudSpan } from "./cloud-wait.ts";
import { redactText } from "./redact.ts";

export type HttpMethod = "GET" | "HEAD" | "PUT" | "DELETE" | "POST" | "PATCH";

const IDEMPOTENT = new Set<HttpMethod>(["GET", "HEAD", "PUT", "DELETE"]);
const EXCERPT_CHARS = 1000;

export interface RequestEvent {
  service: string;
  method: HttpMethod;
  /** Full URL, redacted. */
  url: string;
  /** Undefined when no response arrived (network error, timeout). */
  status: number | undefined;
  durationMs: number;
  /** 1 for the first try; retries and the one re-send after re-authentication count up. */
  attempt: number;
  requestId?: string;
  error?: string;
}

export type RequestObserver = (event: RequestEvent) => void;

const observers = new Set<RequestObserver>();

/** Observe every request the harness makes, across all clients. Returns the unsubscribe function. */
export function onRequest(observer: RequestObserver): () => void {
  observers.add(observer);
  return () => observers.delete(observer);
}

function emit(event: RequestEvent, local?: RequestObserver): void {
  for (const o of [...observers, ...(local ? [local] : [])]) {
    try {
      o(event);
    } catch {
      // an observer must never break a request
    }
  }
}

export interface ApiErrorInit {
  service: string;
  method: HttpMethod;
  url: string;
  status?: number;
  statusText?: string;
  body?: string;
  requestId?: string;
  code?: string;
  attempts?: number;
  detail?: string;
  cause?: unknown;
}

/** An HTTP exchange that did not give what the caller expected. Everything in it is redacted. */
export class ApiError extends Error {
  readonly service: string;
  readonly method: HttpMethod;
  readonly url: string;
  readonly path: string;
  readonly status: number | undefined;
  readonly statusText: string | undefined;
  /** Redacted excerpt of the response body. */
  readonly body: string;
  /** The message the service put in its error body, when there is one. */
  readonly detail: string | undefined;
  readonly requestId: string | undefined;
  /** Network error code (ECONNREFUSED, ECONNABORTED...) when no response arrived. */
  readonly code: string | undefined;
  readonly attempts: number;

  constructor(init: ApiErrorInit, message?: string) {
    const url = redactText(init.url);
    const path = pathOf(url);
    const body = redactText(init.body ?? "").slice(0, EXCERPT_CHARS);
    const detail = init.detail !== undefined ? redactText(init.detail) : errorDetail(init.body ?? "");
    const head = `${init.service} ${init.method} ${path}`;
    const tries = (init.attempts ?? 1) > 1 ? ` after ${init.attempts} attempts` : "";
    const rid = init.requestId ? ` [${init.requestId}]` : "";
    const text =
      message ??
      (init.status === undefined
        ? `${head} failed${tries}: ${init.code ?? "network error"}${detail ? ` ${detail}` : ""}${rid}`
        : `${head} -> ${init.status}${init.statusText ? ` ${init.statusText}` : ""}${tries}: ${detail || body || "(empty body)"}${rid}`);
    super(redactText(text), init.cause !== undefined ? { cause: init.cause } : undefined);
    this.name = "ApiError";
    this.service = init.service;
    this.method = init.method;
    this.url = url;
    this.path = path;
    this.status = init.status;
    this.statusText = init.statusText;
    this.body = body;
    this.detail = detail || undefined;
    this.requestId = init.requestId;
    this.code = init.code;
    this.attempts = init.attempts ?? 1;
  }
}

/** A response with the expected status whose body does not match the schema. */
export class ResponseValidationError extends ApiError {
  readonly issues: string[];

  constructor(init: ApiErrorInit, issues: string[]) {
    const path = pathOf(redactText(init.url));
    const body = redactText(init.body ?? "").slice(0, EXCERPT_CHARS);
    super(
      init,
      `${init.service} ${init.method} ${path} -> ${init.status}: response does not match the expected schema: ${issues.join("; ")}; body: ${body || "(empty)"}${init.requestId ? ` [${init.requestId}]` : ""}`,
    );
    this.name = "ResponseValidationError";
    this.issues = issues;
  }
}

export function isApiError(e: unknown, status?: number): e is ApiError {
  return e instanceof ApiError && (status === undefined || e.status === status);
}

function pathOf(url: string): string {
  try {
    const u = new URL(url);
    return u.pathname + u.search;
  } catch {
    return url;
  }
}

function stripHtml(text: string): string {
  return text
    .replace(/<head[\s\S]*?<\/head>/gi, " ")
    .replace(/<br\s*\/?>/gi, " ")
    .replace(/<[^>]+>/g, " ")
    .replace(/&nbsp;/g, " ")
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&")
    .replace(/\s+/g, " ")
    .trim();
}

/** The message from an OpenStack error body: {"itemNotFound":{"message"}}, {"error":{"message"}}, {"NeutronError":...} or HTML. */
export function errorDetail(body: string): string {
  const text = body.trim();
  if (!text) return "";
  try {
    const j = JSON.parse(text) as unknown;
    const find = (v: unknown, depth: number): string | undefined => {
      if (depth > 3 || typeof v !== "object" || v === null) return undefined;
      const o = v as Record<string, unknown>;
      for (const k of ["message", "detail", "explanation", "title"]) if (typeof o[k] === "string" && o[k]) return o[k] as string;
      if (Array.isArray(o.errors))
        for (const e of o.errors) {
          const m = find(e, depth + 1);
          if (m) return m;
        }
      for (const v2 of Object.values(o)) {
        const m = find(v2, depth + 1);
        if (m) return m;
      }
      return undefined;
    };
    const m = find(j, 0);
    if (m) return redactText(stripHtml(m)).slice(0, EXCERPT_CHARS);
  } catch {
    // not JSON
  }
  if (/<[a-z!/][^>]*>/i.test(text)) return redactText(stripHtml(text)).slice(0, EXCERPT_CHARS);
  return "";
}

export function formatZodIssues(error: z.ZodError): string[] {
  return error.issues.slice(0, 10).map((i) => {
    const path = i.path
      .map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))
      .join("")
      .replace(/^\./, "");
    return `${path || "(root)"}: ${i.message}`;
  });
}

export interface AuthProvider {
  /** Headers carrying a currently valid token. */
  authHeaders(): Promise<Record<string, string>>;
  /** Called once after a 401; must obtain a new token. */
  reauthenticate(): Promise<void>;
}

export interface HttpClientOptions {
  service: string;
  /** Base URL, or a function evaluated per request (the catalog can change on re-authentication). */
  endpoint: string | (() => string | Promise<string>);
  timeoutMs: number;
  auth?: AuthProvider;
  headers?: Record<string, string>;
  /** Re-sends after a network error or a 5xx, for GET/HEAD/PUT/DELETE only. */
  retries?: number;
  retryDelayMs?: number;
  retryDelayMaxMs?: number;
  verify?: boolean;
  ca?: string | Buffer;
  /** A client certificate and its key (PEM), presented on TLS connections. */
  cert?: string | Buffer;
  key?: string | Buffer;
  onRequest?: RequestObserver;
}

export type Query = Record<string, string | number | boolean | undefined | null | ReadonlyArray<string | number>>;

export interface RequestOptions {
  /** The status codes that mean success; anything else is an ApiError. */
  expect: number | readonly number[];
  query?: Query;
  /** JSON body. */
  json?: unknown;
  /** Raw body; a Readable is streamed without buffering. */
  body?: Readable | Buffer | string;
  contentType?: string;
  headers?: Record<string, string>;
  /** "stream" returns the body as a Readable (for downloads). */
  responseType?: "json" | "text" | "stream";
  timeoutMs?: number;
}

export interface HttpResponse<T> {
  status: number;
  headers: Record<string, string>;
  data: T;
  requestId: string | undefined;
  url: string;
}

export function buildUrl(base: string, path: string, query?: Query): string {
  const url = /^https?:\/\//.test(path) ? path : `${base.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
  if (!query) return url;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) for (const x of v) params.append(k, String(x));
    else params.append(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${url}${url.includes("?") ? "&" : "?"}${qs}` : url;
}

function headerMap(h: AxiosResponse["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) {
    if (v === undefined || v === null) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : String(v);
  }
  return out;
}

function requestIdOf(h: Record<string, string>): string | undefined {
  return h["x-openstack-request-id"] ?? h["x-compute-request-id"] ?? h["openstack-request-id"];
}

async function readLimited(stream: Readable, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    chunks.push(b);
    size += b.length;
    if (size >= limit) break;
  }
  stream.destroy();
  return Buffer.concat(chunks).toString("utf8").slice(0, limit);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One service's request layer: status checks, zod validation, safe retries, observation. */
export class HttpClient {
  readonly service: string;
  private readonly opts: HttpClientOptions;
  private readonly axios: AxiosInstance;

  constructor(opts: HttpClientOptions) {
    this.service = opts.service;
    this.opts = opts;
    this.axios = axios.create({
      adapter: "http",
      // NOTE: follow-redirects keeps every written chunk in memory for a possible redirect;
      // with maxRedirects 0 axios uses plain node:http, so uploads stream.
      maxRedirects: 0,
      maxBodyLength: Infinity,
      maxContentLength: Infinity,
      validateStatus: () => true,
      transformRequest: [(d: unknown) => d],
      transformResponse: [(d: unknown) => d],
      // NOTE: node 20's global agent keeps sockets alive; eventlet services close idle ones,
      // and a POST that meets a reset socket must not be re-sent, so use fresh connections.
      httpAgent: new http.Agent({ keepAlive: false }),
      httpsAgent: new https.Agent({
        keepAlive: false,
        rejectUnauthorized: opts.verify !== false,
        ...(opts.ca ? { ca: opts.ca } : {}),
        ...(opts.cert ? { cert: opts.cert } : {}),
        ...(opts.key ? { key: opts.key } : {}),
      }),
    });
  }

  async endpoint(): Promise<string> {
    const e = this.opts.endpoint;
    return typeof e === "string" ? e : await e();
  }

  request<S extends z.ZodType>(method: HttpMethod, path: string, opts: RequestOptions & { schema: S }): Promise<HttpResponse<z.output<S>>>;
  request(method: HttpMethod, path: string, opts: RequestOptions & { schema?: undefined }): Promise<HttpResponse<unknown>>;
  async request(method: HttpMethod, path: string, opts: RequestOptions & { schema?: z.ZodType }): Promise<HttpResponse<unknown>> {
    // A streamed body is the cloud's until it has been read or dropped.
    const end = cloudSpan();
    try {
      const r = await this.exchange(method, path, opts);
      if (r.data instanceof Readable && !r.data.destroyed) r.data.once("close", end);
      else end();
      return r;
    } catch (e) {
      end();
      throw e;
    }
  }

  private async exchange(method: HttpMethod, path: string, opts: RequestOptions & { schema?: z.ZodType }): Promise<HttpResponse<unknown>> {
    const expect = typeof opts.expect === "number" ? [opts.expect] : opts.expect;
    const streaming = opts.body instanceof Readable;
    const maxRetries = IDEMPOTENT.has(method) && !streaming ? (this.opts.retries ?? 3) : 0;
    const responseType = opts.responseType ?? "json";
    let reauthenticated = false;
    let retries = 0;
    let attempt = 0;
    for (;;) {
      attempt++;
      const url = buildUrl(await this.endpoint(), path, opts.query);
      const headers: Record<string, string> = {
        Accept: responseType === "stream" ? "*/*" : "application/json",
        ...(this.opts.headers ?? {}),
        ...(this.opts.auth ? await this.opts.auth.authHeaders() : {}),
        ...(opts.headers ?? {}),
      };
      let data: unknown;
      if (opts.json !== undefined) {
        data = JSON.stringify(opts.json);
        headers["Content-Type"] = opts.contentType ?? "application/json";
      } else if (opts.body !== undefined) {
        data = opts.body;
        headers["Content-Type"] = opts.contentType ?? "application/octet-stream";
      }
      const started = performance.now();
      let res: AxiosResponse;
      try {
        res = await this.axios.request({
          method,
          url,
          headers,
          data,
          timeout: opts.timeoutMs ?? this.opts.timeoutMs,
          responseType: responseType === "stream" ? "stream" : "text",
          responseEncoding: "utf8",
        });
      } catch (e) {
        const err = e as AxiosError;
        const code = err.code ?? "network error";
        emit(
          {
            service: this.service,
            method,
            url: redactText(url),
            status: undefined,
            durationMs: performance.now() - started,
            attempt,
            error: redactText(`${code}: ${err.message}`),
          },
          this.opts.onRequest,
        );
        if (retries < maxRetries) {
          retries++;
          await sleep(this.backoff(retries));
          continue;
        }
        throw new ApiError({ service: this.service, method, url, code, detail: err.message, attempts: attempt });
      }
      const resHeaders = headerMap(res.headers);
      const requestId = requestIdOf(resHeaders);
      emit(
        {
          service: this.service,
          method,
          url: redactText(url),
          status: res.status,
          durationMs: performance.now() - started,
          attempt,
          requestId,
        },
        this.opts.onRequest,
      );
      const ok = expect.includes(res.status);
      if (!ok) {
        const text =
          responseType === "stream" ? await readLimited(res.data as Readable, 64 * 1024).catch(() => "") : String(res.data ?? "");
        if (res.status === 401 && this.opts.auth && !reauthenticated && !streaming) {
          reauthenticated = true;
          await this.opts.auth.reauthenticate();
          continue;
        }
        if (res.status >= 500 && retries < maxRetries) {
          retries++;
          await sleep(this.backoff(retries, resHeaders["retry-after"]));
          continue;
        }
        throw new ApiError({
          service: this.service,
          method,
          url,
          status: res.status,
          statusText: res.statusText,
          body: text,
          requestId,
          attempts: attempt,
        });
      }
      if (responseType === "stream") return { status: res.status, headers: resHeaders, data: res.data, requestId, url };
      const text = String(res.data ?? "");
      let body: unknown = text;
      if (responseType === "json") {
        body = undefined;
        if (text.trim()) {
          try {
            body = JSON.parse(text);
          } catch (e) {
            throw new ResponseValidationError(
              { service: this.service, method, url, status: res.status, body: text, requestId, attempts: attempt },
              [`not JSON: ${(e as Error).message}`],
            );
          }
        }
      }
      if (opts.schema) {
        const parsed = opts.schema.safeParse(body);
        if (!parsed.success) {
          throw new ResponseValidationError(
            { service: this.service, method, url, status: res.status, body: text, requestId, attempts: attempt },
            formatZodIssues(parsed.error),
          );
        }
        body = parsed.data;
      }
      return { status: res.status, headers: resHeaders, data: body, requestId, url };
    }
  }

  private backoff(retry: number, retryAfter?: string): number {
    const base = this.opts.retryDelayMs ?? 500;
    const max = this.opts.retryDelayMaxMs ?? 5000;
    const after = retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : 0;
    const exp = Math.min(max, base * 2 ** (retry - 1));
    return Math.min(max, Math.max(after, exp * (0.75 + Math.random() * 0.5)));
  }
}
