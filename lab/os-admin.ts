import axios, { type AxiosInstance } from "axios";
import { LabError } from "./procs.ts";

export const KEYSTONE_URL = "http://127.0.0.1:5000/v3";
export const REGION = "RegionOne";

export interface Catalog {
  token: string;
  projectId: string;
  endpoints: Record<string, string>;
}

/** Minimal admin REST access for provisioning the lab; the harness has its own clients. */
export class LabAdmin {
  private http: AxiosInstance;
  private catalog?: Catalog;

  constructor(private readonly password: string) {
    this.http = axios.create({ timeout: 30000, validateStatus: () => true, proxy: false });
  }

  async login(): Promise<Catalog> {
    const r = await this.http.post(`${KEYSTONE_URL}/auth/tokens`, {
      auth: {
        identity: { methods: ["password"], password: { user: { name: "admin", domain: { id: "default" }, password: this.password } } },
        scope: { project: { name: "admin", domain: { id: "default" } } },
      },
    });
    if (r.status !== 201) throw new LabError(`keystone login as admin: HTTP ${r.status}`, "keystone");
    const endpoints: Record<string, string> = {};
    for (const svc of r.data.token.catalog ?? []) {
      const ep = svc.endpoints.find((e: { interface: string }) => e.interface === "public");
      if (ep) endpoints[svc.type] = ep.url.replace(/\/$/, "");
    }
    this.catalog = { token: r.headers["x-subject-token"], projectId: r.data.token.project.id, endpoints };
    return this.catalog;
  }

  async request<T = any>(
    method: string,
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; data: T; headers: Record<string, any> }> {
    if (!this.catalog) await this.login();
    const r = await this.http.request({ method, url, data: body, headers: { "X-Auth-Token": this.catalog!.token, ...headers } });
    return { status: r.status, data: r.data, headers: r.headers };
  }

  async expect<T = any>(ok: number[], method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    const r = await this.request<T>(method, url, body, headers);
    if (!ok.includes(r.status)) {
      const text = typeof r.data === "string" ? r.data : JSON.stringify(r.data);
      throw new LabError(`${method} ${url}: HTTP ${r.status} ${text.slice(0, 300)}`);
    }
    return r.data;
  }

  async endpoint(type: string): Promise<string> {
    const cat = this.catalog ?? (await this.login());
    const url = cat.endpoints[type];
    if (!url) throw new LabError(`no ${type} endpoint in the lab's catalog`);
    return url.replace("%(project_id)s", cat.projectId).replace("$(project_id)s", cat.projectId);
  }

  async projectId(): Promise<string> {
    return (this.catalog ?? (await this.login())).projectId;
  }
}
