import { z } from "zod";
import type { HttpClient, Query } from "../core/http.ts";
import { isApiError } from "../core/http.ts";
import type { Session } from "./identity.ts";
import { negotiateMicroversion, versionAtLeast, versionRoot, versionsSchema } from "./microversion.ts";
import { paginate } from "./paginate.ts";

export const DEFAULT_COMPUTE_MICROVERSION = "2.60";
/** createImage returns {"image_id"} in the body from here; before, only the Location header has it. */
export const IMAGE_ID_IN_BODY_MICROVERSION = "2.45";
/** networks: "none" / "auto" are accepted from here. */
export const NETWORKS_NONE_MICROVERSION = "2.37";

export const serverSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  status: z.string(),
  "OS-EXT-STS:task_state": z.string().nullable().optional(),
  "OS-EXT-STS:vm_state": z.string().nullable().optional(),
  "OS-EXT-STS:power_state": z.number().nullable().optional(),
  "OS-EXT-AZ:availability_zone": z.string().nullable().optional(),
  "OS-EXT-SRV-ATTR:host": z.string().nullable().optional(),
  "os-extended-volumes:volumes_attached": z.array(z.looseObject({ id: z.string() })).optional(),
  image: z.union([z.string(), z.looseObject({ id: z.string() })]).optional(),
  flavor: z.looseObject({}).optional(),
  fault: z.looseObject({ code: z.number().optional(), message: z.string(), details: z.string().optional() }).optional(),
  created: z.string().optional(),
  updated: z.string().optional(),
});
export type Server = z.infer<typeof serverSchema>;

export const flavorSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  vcpus: z.number().optional(),
  ram: z.number().optional(),
  disk: z.number().optional(),
});
export type Flavor = z.infer<typeof flavorSchema>;

/** GET /os-quota-sets/{project}/detail: each quota's limit (-1 unlimited), in_use and reserved. */
export const computeQuotaDetailSchema = z.looseObject({
  quota_set: z.record(
    z.string(),
    z.union([z.looseObject({ limit: z.number(), in_use: z.number(), reserved: z.number().optional() }), z.string()]),
  ),
});
export type ComputeQuotaDetail = z.infer<typeof computeQuotaDetailSchema>;

export const computeAzSchema = z.looseObject({
  zoneName: z.string(),
  zoneState: z.looseObject({ available: z.boolean() }),
  /** With detail: host -> service -> state. */
  hosts: z
    .record(z.string(), z.record(z.string(), z.looseObject({ available: z.boolean().optional(), active: z.boolean().optional() })))
    .nullable()
    .optional(),
});
export type ComputeAvailabilityZone = z.infer<typeof computeAzSchema>;

/** The hosts of an AZ (from the detailed listing) with an enabled, up service. */
export function upHosts(zone: ComputeAvailabilityZone | undefined): string[] {
  return Object.entries(zone?.hosts ?? {})
    .filter(([, svcs]) => Object.values(svcs).some((s) => s.active && s.available))
    .map(([h]) => h);
}

export const hypervisorSchema = z.looseObject({
  id: z.union([z.string(), z.number()]),
  hypervisor_hostname: z.string(),
  state: z.string().optional(),
  status: z.string().optional(),
  service: z.looseObject({ host: z.string().optional() }).optional(),
});
export type Hypervisor = z.infer<typeof hypervisorSchema>;

export const computeServiceSchema = z.looseObject({
  id: z.union([z.string(), z.number()]),
  binary: z.string(),
  host: z.string(),
  zone: z.string().nullable().optional(),
  status: z.string(),
  state: z.string(),
  updated_at: z.string().nullable().optional(),
});
export type ComputeService = z.infer<typeof computeServiceSchema>;

export const aggregateSchema = z.looseObject({
  id: z.number(),
  name: z.string(),
  availability_zone: z.string().nullable().optional(),
  hosts: z.array(z.string()).nullable().optional(),
  metadata: z.record(z.string(), z.unknown()).nullable().optional(),
  uuid: z.string().optional(),
});
export type Aggregate = z.infer<typeof aggregateSchema>;

export interface BlockDeviceMapping {
  boot_index?: number | null;
  uuid?: string;
  source_type: "volume" | "image" | "snapshot" | "blank";
  destination_type?: "volume" | "local";
  volume_size?: number;
  delete_on_termination?: boolean;
  device_name?: string;
  [field: string]: unknown;
}

export interface CreateServerBody {
  name: string;
  flavorRef: string;
  imageRef?: string;
  availability_zone?: string;
  block_device_mapping_v2?: BlockDeviceMapping[];
  /** "none" / "auto" need microversion 2.37. */
  networks?: "none" | "auto" | Array<{ uuid?: string; port?: string; fixed_ip?: string }>;
  metadata?: Record<string, string>;
  [field: string]: unknown;
}

/** The compute URL with its version (catalogs may list the bare host). */
export function computeEndpoint(catalogUrl: string): string {
  const u = catalogUrl.replace(/\/+$/, "");
  return /\/v2(\.1)?(\/|$)/.test(u) ? u : `${u}/v2.1`;
}

/** The image id at the end of the Location header of createImage before 2.45. */
export function imageIdFromLocation(location: string | undefined): string | undefined {
  if (!location) return undefined;
  const m = /\/images\/([^/?#]+)\/?(?:[?#].*)?$/.exec(location);
  return m?.[1];
}

/** Nova v2.1 with OpenStack-API-Version: compute <microversion>. */
export class ComputeClient {
  readonly http: HttpClient;
  readonly microversion: string;

  constructor(
    readonly session: Session,
    o: { microversion?: string; timeoutMs?: number; region?: string } = {},
  ) {
    this.microversion = o.microversion ?? DEFAULT_COMPUTE_MICROVERSION;
    this.http = session.client("nova", "compute", {
      transform: computeEndpoint,
      headers: { "OpenStack-API-Version": `compute ${this.microversion}` },
      timeoutMs: o.timeoutMs,
      region: o.region,
    });
  }

  /** A client at the wanted microversion, or the server's maximum when that is lower. */
  static async negotiate(session: Session, o: { microversion?: string; timeoutMs?: number; region?: string } = {}): Promise<ComputeClient> {
    const probe = session.client("nova", "compute", { transform: versionRoot, timeoutMs: o.timeoutMs, region: o.region });
    const res = await probe.request("GET", "/", { expect: [200, 300], schema: versionsSchema });
    const microversion = negotiateMicroversion(res.data, "2", o.microversion ?? DEFAULT_COMPUTE_MICROVERSION, "compute");
    return new ComputeClient(session, { ...o, microversion });
  }

  async createServer(body: CreateServerBody): Promise<{ id: string; [k: string]: unknown }> {
    if (typeof body.networks === "string" && !versionAtLeast(this.microversion, NETWORKS_NONE_MICROVERSION)) {
      throw new Error(
        `networks '${body.networks}' needs compute microversion ${NETWORKS_NONE_MICROVERSION}; this client uses ${this.microversion}`,
      );
    }
    return (
      await this.http.request("POST", "/servers", {
        expect: 202,
        json: { server: body },
        schema: z.looseObject({ server: z.looseObject({ id: z.string() }) }),
      })
    ).data.server;
  }

  async showServer(id: string): Promise<Server> {
    return (
      await this.http.request("GET", `/servers/${encodeURIComponent(id)}`, { expect: 200, schema: z.looseObject({ server: serverSchema }) })
    ).data.server;
  }

  /** Every page of GET /servers/detail for the filter. */
  async listServers(filter: Query = {}): Promise<Server[]> {
    return paginate(this.http, "/servers/detail", "servers", serverSchema, filter);
  }

  async deleteServer(id: string): Promise<void> {
    await this.http.request("DELETE", `/servers/${encodeURIComponent(id)}`, { expect: 204, responseType: "text" });
  }

  async stopServer(id: string): Promise<void> {
    await this.http.request("POST", `/servers/${encodeURIComponent(id)}/action`, {
      expect: 202,
      json: { "os-stop": null },
      responseType: "text",
    });
  }

  async startServer(id: string): Promise<void> {
    await this.http.request("POST", `/servers/${encodeURIComponent(id)}/action`, {
      expect: 202,
      json: { "os-start": null },
      responseType: "text",
    });
  }

  /** Adds to (or overwrites keys of) a server's metadata. */
  async setServerMetadata(id: string, metadata: Record<string, string>): Promise<Record<string, string>> {
    return (
      await this.http.request("POST", `/servers/${encodeURIComponent(id)}/metadata`, {
        expect: 200,
        json: { metadata },
        schema: z.looseObject({ metadata: z.record(z.string(), z.string()) }),
      })
    ).data.metadata;
  }

  /** createImage; the id comes from the body from 2.45, else from the Location header. */
  async createServerImage(id: string, name: string, metadata: Record<string, string> = {}): Promise<{ imageId: string }> {
    const res = await this.http.request("POST", `/servers/${encodeURIComponent(id)}/action`, {
      expect: 202,
      json: { createImage: { name, metadata } },
      responseType: "text",
    });
    let imageId: string | undefined;
    if (typeof res.data === "string" && res.data.trim()) {
      try {
        const body = z.looseObject({ image_id: z.string().optional() }).safeParse(JSON.parse(res.data));
        imageId = body.success ? body.data.image_id : undefined;
      } catch {
        imageId = undefined;
      }
    }
    imageId ??= imageIdFromLocation(res.headers.location);
    if (!imageId) {
      throw new Error(
        `nova POST /servers/${id}/action createImage -> ${res.status} gave no image id (microversion ${this.microversion}, body '${String(res.data).slice(0, 200)}', Location '${res.headers.location ?? ""}') [${res.requestId ?? "no request id"}]`,
      );
    }
    return { imageId };
  }

  async listFlavors(): Promise<Flavor[]> {
    return (await this.http.request("GET", "/flavors/detail", { expect: 200, schema: z.looseObject({ flavors: z.array(flavorSchema) }) }))
      .data.flavors;
  }

  async showFlavor(id: string): Promise<Flavor> {
    return (
      await this.http.request("GET", `/flavors/${encodeURIComponent(id)}`, { expect: 200, schema: z.looseObject({ flavor: flavorSchema }) })
    ).data.flavor;
  }

  /** A flavor by id or by name; the error lists the flavors there are. */
  async findFlavor(nameOrId: string): Promise<Flavor> {
    try {
      return await this.showFlavor(nameOrId);
    } catch (e) {
      if (!isApiError(e, 404)) throw e;
    }
    const flavors = await this.listFlavors();
    const matches = flavors.filter((f) => f.name === nameOrId);
    if (matches.length === 1) return matches[0]!;
    throw new Error(
      matches.length > 1
        ? `flavor name '${nameOrId}' matches ${matches.length} flavors: ${matches.map((f) => f.id).join(", ")}`
        : `no flavor '${nameOrId}'; there are: ${flavors.map((f) => `${f.name} (${f.id})`).join(", ") || "none"}`,
    );
  }

  async listAvailabilityZones(detail = false): Promise<ComputeAvailabilityZone[]> {
    return (
      await this.http.request("GET", detail ? "/os-availability-zone/detail" : "/os-availability-zone", {
        expect: 200,
        schema: z.looseObject({ availabilityZoneInfo: z.array(computeAzSchema) }),
      })
    ).data.availabilityZoneInfo;
  }

  async listHypervisors(): Promise<Hypervisor[]> {
    return (
      await this.http.request("GET", "/os-hypervisors/detail", {
        expect: 200,
        schema: z.looseObject({ hypervisors: z.array(hypervisorSchema) }),
      })
    ).data.hypervisors;
  }

  async listServices(filter: { host?: string; binary?: string } = {}): Promise<ComputeService[]> {
    return (
      await this.http.request("GET", "/os-services", {
        expect: 200,
        query: filter,
        schema: z.looseObject({ services: z.array(computeServiceSchema) }),
      })
    ).data.services;
  }

  async listAggregates(): Promise<Aggregate[]> {
    return (
      await this.http.request("GET", "/os-aggregates", { expect: 200, schema: z.looseObject({ aggregates: z.array(aggregateSchema) }) })
    ).data.aggregates;
  }

  async showQuotaDetail(projectId: string): Promise<ComputeQuotaDetail> {
    return (
      await this.http.request("GET", `/os-quota-sets/${encodeURIComponent(projectId)}/detail`, {
        expect: 200,
        schema: computeQuotaDetailSchema,
      })
    ).data;
  }
}
