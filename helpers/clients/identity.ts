import { readFileSync } from "node:fs";
import { z } from "zod";
import type { Config } from "../config/schema.ts";
import { type AuthProvider, HttpClient, type RequestObserver } from "../core/http.ts";
import { registerSecret } from "../core/redact.ts";
import { type CloudAuth, type CloudCredentials, type Interface, loadCloudCredentials } from "./credentials.ts";

export const endpointSchema = z.looseObject({
  id: z.string().optional(),
  interface: z.string(),
  region: z.string().nullable().optional(),
  region_id: z.string().nullable().optional(),
  url: z.string(),
});

export const catalogEntrySchema = z.looseObject({
  id: z.string().optional(),
  type: z.string(),
  name: z.string().optional(),
  endpoints: z.array(endpointSchema),
});

const ref = z.looseObject({ id: z.string(), name: z.string().optional() });

export const tokenSchema = z.looseObject({
  token: z.looseObject({
    expires_at: z.string(),
    issued_at: z.string().optional(),
    methods: z.array(z.string()),
    user: z.looseObject({ id: z.string(), name: z.string(), domain: ref.optional() }),
    project: z.looseObject({ id: z.string(), name: z.string(), domain: ref.optional() }).optional(),
    domain: ref.optional(),
    roles: z.array(ref).optional(),
    catalog: z.array(catalogEntrySchema).optional(),
  }),
});

export type CatalogEntry = z.infer<typeof catalogEntrySchema>;
export type TokenBody = z.infer<typeof tokenSchema>["token"];

export type ServiceType = "identity" | "image" | "volumev3" | "block-storage" | "compute" | "network" | "placement";

/** Catalog types accepted for each requested type (service-types-authority aliases). */
const SERVICE_ALIASES: Record<string, string[]> = {
  volumev3: ["volumev3", "block-storage", "block-store"],
  "block-storage": ["block-storage", "volumev3", "block-store"],
};

/** The Keystone v3 base URL for an auth_url given with or without /v3. */
export function identityV3Url(authUrl: string): string {
  const u = authUrl.replace(/\/+$/, "");
  if (/\/v3$/.test(u)) return u;
  if (/\/v2\.0$/.test(u)) return u.replace(/\/v2\.0$/, "/v3");
  return `${u}/v3`;
}

/** The body of POST /v3/auth/tokens for a password, token or application-credential auth. */
export function authRequestBody(auth: CloudAuth): unknown {
  const domain = (id?: string, name?: string) => (id ? { id } : name ? { name } : undefined);
  const user = (a: { userId?: string; username?: string; userDomainId?: string; userDomainName?: string }) =>
    a.userId ? { id: a.userId } : { name: a.username, domain: domain(a.userDomainId, a.userDomainName) };
  if (auth.type === "v3applicationcredential") {
    const ac = auth.applicationCredentialId
      ? { id: auth.applicationCredentialId, secret: auth.applicationCredentialSecret }
      : { name: auth.applicationCredentialName, secret: auth.applicationCredentialSecret, user: user(auth) };
    return { auth: { identity: { methods: ["application_credential"], application_credential: ac } } };
  }
  let scope: unknown;
  if (auth.projectId) scope = { project: { id: auth.projectId } };
  else if (auth.projectName) scope = { project: { name: auth.projectName, domain: domain(auth.projectDomainId, auth.projectDomainName) } };
  else if (auth.domainId || auth.domainName) scope = { domain: domain(auth.domainId, auth.domainName) };
  else if (auth.systemScope) scope = { system: { [auth.systemScope]: true } };
  const identity =
    auth.type === "token"
      ? { methods: ["token"], token: { id: auth.token } }
      : { methods: ["password"], password: { user: { ...user(auth), password: auth.password } } };
  return { auth: { identity, ...(scope ? { scope } : {}) } };
}

/** Service types as openstacksdk's config keys spell them (os-service-types aliases, '-' as '_'), official first. */
const CONFIG_TYPES: Record<string, string[]> = {
  volumev3: ["block_storage", "volumev3", "volumev2", "volume", "block_store"],
  "block-storage": ["block_storage", "volumev3", "volumev2", "volume", "block_store"],
};

/** `<service>_endpoint_override` for a service type, as openstacksdk's CloudRegion.get_endpoint finds it. */
export function endpointOverride(overrides: Record<string, string> | undefined, type: string, projectId?: string): string | undefined {
  if (!overrides) return undefined;
  for (const t of CONFIG_TYPES[type] ?? [type.replace(/-/g, "_")]) {
    const url = overrides[t];
    if (url === undefined) continue;
    // NOTE: keystoneauth substitutes %(project_id)s in an endpoint_override (Cinder's /v3/%(project_id)s).
    if (/%\(project_id\)s/.test(url) && projectId === undefined)
      throw new Error(`${t}_endpoint_override needs a project-scoped token for %(project_id)s`);
    return url.replace(/%\(project_id\)s/g, projectId ?? "");
  }
  return undefined;
}

export interface EndpointQuery {
  interface?: Interface;
  region?: string;
}

/** Find a service's URL in a token catalog; the error lists what the catalog has. */
export function findEndpoint(catalog: CatalogEntry[], type: string, q: Required<Pick<EndpointQuery, "interface">> & EndpointQuery): string {
  const types = SERVICE_ALIASES[type] ?? [type];
  for (const t of types) {
    for (const entry of catalog.filter((e) => e.type === t)) {
      const ep = entry.endpoints.find(
        (e) => e.interface === q.interface && (!q.region || e.region_id === q.region || e.region === q.region),
      );
      if (ep) return ep.url.replace(/\/+$/, "");
    }
  }
  const has = catalog.length
    ? catalog
        .map(
          (e) =>
            `${e.type}${e.name ? ` (${e.name})` : ""}: ${e.endpoints.map((x) => `${x.interface}@${x.region_id ?? x.region ?? "-"}`).join(", ")}`,
        )
        .join("; ")
    : "nothing (unscoped token?)";
  throw new Error(
    `no ${q.interface} endpoint for service type '${types.join("' or '")}'${q.region ? ` in region '${q.region}'` : ""}; the catalog has: ${has}`,
  );
}

export interface SessionOptions {
  timeoutMs: number;
  retries?: number;
  /** Re-authenticate this long before expires_at. */
  refreshMarginS?: number;
  onRequest?: RequestObserver;
  now?: () => number;
}

/**
 * A Keystone v3 token with its catalog; re-authenticates on expiry and once on a 401. The request
 * timeout is the credential's api_timeout when it has one, else opts.timeoutMs; cacert, cert and key
 * are used for every endpoint, Keystone included.
 */
export class Session implements AuthProvider {
  readonly credentials: CloudCredentials;
  readonly identityUrl: string;
  private readonly opts: SessionOptions;
  private readonly keystone: HttpClient;
  private readonly tls: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  private tokenValue: string | undefined;
  private body: TokenBody | undefined;
  private pending: Promise<void> | undefined;
  private authCount = 0;

  constructor(credentials: CloudCredentials, opts: SessionOptions) {
    this.credentials = credentials;
    this.opts = credentials.apiTimeoutS !== undefined ? { ...opts, timeoutMs: credentials.apiTimeoutS * 1000 } : opts;
    this.identityUrl = identityV3Url(credentials.auth.authUrl);
    const read = (f: string | undefined) => (f ? readFileSync(f) : undefined);
    // openstacksdk's get_requests_verify_args: a cert without key holds both.
    this.tls = strip({ ca: read(credentials.cacert), cert: read(credentials.cert), key: read(credentials.key ?? credentials.cert) });
    this.keystone = new HttpClient({
      service: "keystone",
      endpoint: this.identityUrl,
      timeoutMs: this.opts.timeoutMs,
      retries: opts.retries,
      verify: credentials.verify,
      ...this.tls,
      onRequest: opts.onRequest,
    });
  }

  static async authenticate(credentials: CloudCredentials, opts: SessionOptions): Promise<Session> {
    const s = new Session(credentials, opts);
    await s.reauthenticate();
    return s;
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : Date.now();
  }

  /** How many tokens this session has obtained. */
  get authentications(): number {
    return this.authCount;
  }

  private get token(): TokenBody {
    if (!this.body) throw new Error("session is not authenticated");
    return this.body;
  }

  get expiresAt(): Date {
    return new Date(this.token.expires_at);
  }
  get userId(): string {
    return this.token.user.id;
  }
  get userName(): string {
    return this.token.user.name;
  }
  get projectId(): string {
    const p = this.token.project;
    if (!p) throw new Error("the token is not project-scoped");
    return p.id;
  }
  get projectName(): string | undefined {
    return this.token.project?.name;
  }
  get roles(): string[] {
    return (this.token.roles ?? []).map((r) => r.name ?? r.id);
  }
  get catalog(): CatalogEntry[] {
    return this.token.catalog ?? [];
  }

  async reauthenticate(): Promise<void> {
    this.pending ??= this.fetchToken().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async fetchToken(): Promise<void> {
    const res = await this.keystone.request("POST", "/auth/tokens", {
      expect: 201,
      json: authRequestBody(this.credentials.auth),
      schema: tokenSchema,
    });
    const token = res.headers["x-subject-token"];
    if (!token)
      throw new Error(`keystone POST /auth/tokens -> 201 without an X-Subject-Token header [${res.requestId ?? "no request id"}]`);
    registerSecret(token);
    this.tokenValue = token;
    this.body = res.data.token;
    this.authCount++;
  }

  private needsRefresh(): boolean {
    if (!this.tokenValue || !this.body) return true;
    const margin = (this.opts.refreshMarginS ?? 120) * 1000;
    return Date.parse(this.body.expires_at) - this.now() <= margin;
  }

  async authHeaders(): Promise<Record<string, string>> {
    if (this.needsRefresh()) await this.reauthenticate();
    return { "X-Auth-Token": this.tokenValue! };
  }

  /** The request timeout of this session's clients. */
  get timeoutMs(): number {
    return this.opts.timeoutMs;
  }

  /** A service's URL: its endpoint override when the credential has one, else the catalog's for the interface and region. */
  endpoint(type: ServiceType | string, q: EndpointQuery = {}): string {
    const override = endpointOverride(this.credentials.endpointOverrides, type, this.token.project?.id);
    if (override) return override;
    return findEndpoint(this.catalog, type, {
      interface: q.interface ?? this.credentials.interface,
      region: q.region ?? this.credentials.regionName,
    });
  }

  /** An HttpClient for a catalog service, authenticated by this session. */
  client(
    service: string,
    type: ServiceType | string,
    o: { transform?: (url: string) => string; headers?: Record<string, string>; timeoutMs?: number; url?: string; region?: string } = {},
  ): HttpClient {
    const transform = o.transform ?? ((u: string) => u);
    return new HttpClient({
      service,
      endpoint: o.url ?? (() => transform(this.endpoint(type, { region: o.region }))),
      timeoutMs: o.timeoutMs ?? this.opts.timeoutMs,
      retries: this.opts.retries,
      auth: this,
      headers: o.headers,
      verify: this.credentials.verify,
      ...this.tls,
      onRequest: this.opts.onRequest,
    });
  }
}

const strip = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

/** Credentials from the config's cloud section, then a token. */
export async function openSession(cfg: Pick<Config, "cloud" | "timeouts">, o: Partial<SessionOptions> = {}): Promise<Session> {
  const creds = await loadCloudCredentials(cfg.cloud);
  return Session.authenticate(creds, { timeoutMs: cfg.timeouts.request * 1000, ...o });
}

const projectSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  domain_id: z.string().optional(),
  enabled: z.boolean().optional(),
});
const userSchema = z.looseObject({ id: z.string(), name: z.string(), domain_id: z.string().optional(), enabled: z.boolean().optional() });
export type Project = z.infer<typeof projectSchema>;
export type User = z.infer<typeof userSchema>;

/** Keystone v3 projects and users. */
export class IdentityClient {
  readonly http: HttpClient;

  constructor(readonly session: Session) {
    this.http = session.client("keystone", "identity", {
      url: endpointOverride(session.credentials.endpointOverrides, "identity") ?? session.identityUrl,
    });
  }

  async showProject(id: string): Promise<Project> {
    return (
      await this.http.request("GET", `/projects/${encodeURIComponent(id)}`, {
        expect: 200,
        schema: z.looseObject({ project: projectSchema }),
      })
    ).data.project;
  }

  async listProjects(query: { name?: string; domain_id?: string } = {}): Promise<Project[]> {
    return (
      await this.http.request("GET", "/projects", { expect: 200, query, schema: z.looseObject({ projects: z.array(projectSchema) }) })
    ).data.projects;
  }

  async showUser(id: string): Promise<User> {
    return (
      await this.http.request("GET", `/users/${encodeURIComponent(id)}`, { expect: 200, schema: z.looseObject({ user: userSchema }) })
    ).data.user;
  }

  async listUsers(query: { name?: string; domain_id?: string } = {}): Promise<User[]> {
    return (await this.http.request("GET", "/users", { expect: 200, query, schema: z.looseObject({ users: z.array(userSchema) }) })).data
      .users;
  }

  /** The id of a project given by name or id; the error says how many matched. */
  async findProjectId(nameOrId: string): Promise<string> {
    const byName = await this.listProjects({ name: nameOrId });
    if (byName.length === 1) return byName[0]!.id;
    if (byName.length > 1)
      throw new Error(`project name '${nameOrId}' matches ${byName.length} projects: ${byName.map((p) => p.id).join(", ")}`);
    return (await this.showProject(nameOrId)).id;
  }

  async findUserId(nameOrId: string): Promise<string> {
    const byName = await this.listUsers({ name: nameOrId });
    if (byName.length === 1) return byName[0]!.id;
    if (byName.length > 1) throw new Error(`user name '${nameOrId}' matches ${byName.length} users: ${byName.map((u) => u.id).join(", ")}`);
    return (await this.showUser(nameOrId)).id;
  }
}
