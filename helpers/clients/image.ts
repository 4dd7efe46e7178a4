import type { Readable } from "node:stream";
import { z } from "zod";
import type { HttpClient, Query } from "../core/http.ts";
import type { Session } from "./identity.ts";
import { paginate } from "./paginate.ts";

/** Glance's comma-separated store lists: "" is [] and the order (store weight) is kept. */
export const storeList = z.string().transform((s) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x !== ""),
);

export const imageStatusSchema = z.enum([
  "queued",
  "saving",
  "active",
  "killed",
  "deleted",
  "uploading",
  "importing",
  "pending_delete",
  "deactivated",
]);
export type ImageStatus = z.infer<typeof imageStatusSchema>;

export const imageLocationSchema = z.looseObject({
  url: z.string(),
  metadata: z.looseObject({ store: z.string().optional() }),
});
export type ImageLocation = z.infer<typeof imageLocationSchema>;

export const imageSchema = z.looseObject({
  id: z.string(),
  name: z.string().nullable(),
  status: imageStatusSchema,
  visibility: z.string(),
  protected: z.boolean(),
  disk_format: z.string().nullable().optional(),
  container_format: z.string().nullable().optional(),
  size: z.number().nullable().optional(),
  virtual_size: z.number().nullable().optional(),
  checksum: z.string().nullable().optional(),
  os_hash_algo: z.string().nullable().optional(),
  os_hash_value: z.string().nullable().optional(),
  owner: z.string().nullable().optional(),
  tags: z.array(z.string()),
  created_at: z.string(),
  updated_at: z.string(),
  /** Absent when the image has no location: []. */
  stores: storeList.optional().transform((s) => s ?? []),
  /** undefined: no import has started yet; []: none left. */
  os_glance_importing_to_stores: storeList.optional(),
  /** undefined: no import has recorded failures; []: none. */
  os_glance_failed_import: storeList.optional(),
  os_glance_import_task: z.string().optional(),
  locations: z.array(imageLocationSchema).optional(),
  direct_url: z.string().optional(),
});
export type Image = z.infer<typeof imageSchema>;

/** /v2/info/stores: the flags are the strings "true"/"false", as Glance sends them. */
export const storeSchema = z.looseObject({
  id: z.string(),
  description: z.string().optional(),
  default: z.enum(["true", "false"]).optional(),
  "read-only": z.enum(["true", "false"]).optional(),
  weight: z.number().optional(),
});
export type Store = z.infer<typeof storeSchema>;

export const storeDetailSchema = storeSchema.extend({
  type: z.string(),
  properties: z.looseObject({
    pool: z.string().optional(),
    fsid: z.string().optional(),
    chunk_size: z.number().optional(),
    thin_provisioning: z.boolean().optional(),
  }),
});
export type StoreDetail = z.infer<typeof storeDetailSchema>;

export const importInfoSchema = z.looseObject({
  "import-methods": z.looseObject({ value: z.array(z.string()) }),
});
export type ImportInfo = z.infer<typeof importInfoSchema>;

export const taskSchema = z.looseObject({
  id: z.string(),
  type: z.string().optional(),
  status: z.string(),
  message: z.string().nullable().optional(),
  result: z.unknown().optional(),
  request_id: z.string().nullable().optional(),
  image_id: z.string().nullable().optional(),
  /** Import tasks: the request body, and the stores it targets (backend). */
  input: z
    .looseObject({
      import_req: z.looseObject({ method: z.looseObject({ name: z.string() }).optional() }).optional(),
      backend: z.array(z.string().nullable()).optional(),
    })
    .nullable()
    .optional(),
  created_at: z.string().optional(),
  updated_at: z.string().optional(),
});
export type Task = z.infer<typeof taskSchema>;

export type ImportMethod = "copy-image" | "glance-direct" | "web-download" | "glance-download";

export interface ImportOptions {
  method: ImportMethod;
  /** One store, sent as X-Image-Meta-Store (Glance refuses it together with stores or all_stores). */
  store?: string;
  stores?: string[];
  allStores?: boolean;
  allStoresMustSucceed?: boolean;
  uri?: string;
  glanceImageId?: string;
  glanceRegion?: string;
  glanceServiceInterface?: string;
}

export interface CreateImageBody {
  name?: string;
  id?: string;
  disk_format?: string;
  container_format?: string;
  visibility?: "public" | "private" | "shared" | "community";
  protected?: boolean;
  tags?: string[];
  min_disk?: number;
  min_ram?: number;
  [property: string]: unknown;
}

export type JsonPatchOp = { op: "add" | "replace"; path: string; value: unknown } | { op: "remove"; path: string };

/** The body of POST /v2/images/{id}/import (glance/api/v2/images.py import_image). */
export function importBody(o: ImportOptions): Record<string, unknown> {
  const method: Record<string, unknown> = { name: o.method };
  if (o.uri !== undefined) method.uri = o.uri;
  if (o.glanceImageId !== undefined) method.glance_image_id = o.glanceImageId;
  if (o.glanceRegion !== undefined) method.glance_region = o.glanceRegion;
  if (o.glanceServiceInterface !== undefined) method.glance_service_interface = o.glanceServiceInterface;
  const body: Record<string, unknown> = { method };
  if (o.stores !== undefined) body.stores = o.stores;
  if (o.allStores !== undefined) body.all_stores = o.allStores;
  if (o.allStoresMustSucceed !== undefined) body.all_stores_must_succeed = o.allStoresMustSucceed;
  return body;
}

/** A Glance URL as the client's /v2 paths want it: without trailing slashes or a version (/v2, /v2.x). */
export function glanceBaseUrl(url: string): string {
  return url.replace(/\/+$/, "").replace(/\/v2(\.\d+)?$/, "");
}

/** Glance v2: the catalog's (in a region), or one at a URL the catalog does not list (an edge site's own), with the session's token. */
export class ImageClient {
  readonly http: HttpClient;

  constructor(session: Session, o: { timeoutMs?: number; region?: string; url?: string } = {}) {
    this.http = session.client("glance", "image", {
      transform: glanceBaseUrl,
      ...(o.url !== undefined ? { url: glanceBaseUrl(o.url) } : {}),
      timeoutMs: o.timeoutMs,
      region: o.region,
    });
  }

  async listStores(): Promise<Store[]> {
    return (await this.http.request("GET", "/v2/info/stores", { expect: 200, schema: z.looseObject({ stores: z.array(storeSchema) }) }))
      .data.stores;
  }

  async listStoresDetail(): Promise<StoreDetail[]> {
    return (
      await this.http.request("GET", "/v2/info/stores/detail", {
        expect: 200,
        schema: z.looseObject({ stores: z.array(storeDetailSchema) }),
      })
    ).data.stores;
  }

  async getImportInfo(): Promise<ImportInfo> {
    return (await this.http.request("GET", "/v2/info/import", { expect: 200, schema: importInfoSchema })).data;
  }

  /** GET /v2/schemas/image: the disk formats this Glance allows are its disk_format enum. */
  async getImageSchema(): Promise<{ diskFormats: string[] }> {
    const schema = z.looseObject({ properties: z.looseObject({ disk_format: z.looseObject({ enum: z.array(z.string().nullable()) }) }) });
    const data = (await this.http.request("GET", "/v2/schemas/image", { expect: 200, schema })).data;
    return { diskFormats: data.properties.disk_format.enum.filter((x): x is string => x !== null) };
  }

  async createMetadefNamespace(namespace: string): Promise<void> {
    await this.http.request("POST", "/v2/metadefs/namespaces", {
      expect: 201,
      json: { namespace, visibility: "private" },
      responseType: "text",
    });
  }

  async deleteMetadefNamespace(namespace: string): Promise<void> {
    await this.http.request("DELETE", `/v2/metadefs/namespaces/${encodeURIComponent(namespace)}`, { expect: 204, responseType: "text" });
  }

  async createImage(body: CreateImageBody): Promise<Image> {
    return (await this.createImageWithHeaders(body)).image;
  }

  /** createImage plus the OpenStack-image-import-methods and OpenStack-image-store-ids headers. */
  async createImageWithHeaders(body: CreateImageBody): Promise<{ image: Image; importMethods: string[]; storeIds: string[] }> {
    const res = await this.http.request("POST", "/v2/images", { expect: 201, json: body, schema: imageSchema });
    const csv = (h: string | undefined) =>
      (h ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
    return {
      image: res.data,
      importMethods: csv(res.headers["openstack-image-import-methods"]),
      storeIds: csv(res.headers["openstack-image-store-ids"]),
    };
  }

  async showImage(id: string): Promise<Image> {
    return (await this.http.request("GET", `/v2/images/${encodeURIComponent(id)}`, { expect: 200, schema: imageSchema })).data;
  }

  /** Every page of GET /v2/images for the filter. */
  async listImages(filter: Query = {}): Promise<Image[]> {
    return paginate(this.http, "/v2/images", "images", imageSchema, filter);
  }

  async updateImage(id: string, ops: JsonPatchOp[]): Promise<Image> {
    return (
      await this.http.request("PATCH", `/v2/images/${encodeURIComponent(id)}`, {
        expect: 200,
        json: ops,
        contentType: "application/openstack-images-v2.1-json-patch",
        schema: imageSchema,
      })
    ).data;
  }

  async deleteImage(id: string): Promise<void> {
    await this.http.request("DELETE", `/v2/images/${encodeURIComponent(id)}`, { expect: 204, responseType: "text" });
  }

  /** PUT /file, streamed; X-Image-Meta-Store picks the store. */
  async uploadImageData(id: string, data: Readable | Buffer, o: { store?: string; size?: number; timeoutMs?: number } = {}): Promise<void> {
    const headers: Record<string, string> = {};
    if (o.store) headers["X-Image-Meta-Store"] = o.store;
    if (o.size !== undefined) headers["Content-Length"] = String(o.size);
    await this.http.request("PUT", `/v2/images/${encodeURIComponent(id)}/file`, {
      expect: 204,
      body: data,
      contentType: "application/octet-stream",
      headers,
      responseType: "text",
      timeoutMs: o.timeoutMs,
    });
  }

  async stageImageData(id: string, data: Readable | Buffer, o: { size?: number; timeoutMs?: number } = {}): Promise<void> {
    await this.http.request("PUT", `/v2/images/${encodeURIComponent(id)}/stage`, {
      expect: 204,
      body: data,
      contentType: "application/octet-stream",
      headers: o.size !== undefined ? { "Content-Length": String(o.size) } : {},
      responseType: "text",
      timeoutMs: o.timeoutMs,
    });
  }

  /** GET /file as a stream; undefined when the image has no data (204). */
  async downloadImageData(id: string, o: { timeoutMs?: number } = {}): Promise<Readable | undefined> {
    const res = await this.http.request("GET", `/v2/images/${encodeURIComponent(id)}/file`, {
      expect: [200, 204],
      responseType: "stream",
      timeoutMs: o.timeoutMs,
    });
    if (res.status === 204) {
      (res.data as Readable).destroy();
      return undefined;
    }
    return res.data as Readable;
  }

  /** POST /import (202). The request id lets waiters find the task this request started. */
  async importImage(id: string, o: ImportOptions): Promise<{ requestId: string | undefined }> {
    const res = await this.http.request("POST", `/v2/images/${encodeURIComponent(id)}/import`, {
      expect: 202,
      json: importBody(o),
      headers: o.store !== undefined ? { "X-Image-Meta-Store": o.store } : {},
      responseType: "text",
    });
    return { requestId: res.requestId };
  }

  async deleteImageFromStore(store: string, id: string): Promise<void> {
    await this.http.request("DELETE", `/v2/stores/${encodeURIComponent(store)}/${encodeURIComponent(id)}`, {
      expect: 204,
      responseType: "text",
    });
  }

  async listImageTasks(id: string): Promise<Task[]> {
    return (
      await this.http.request("GET", `/v2/images/${encodeURIComponent(id)}/tasks`, {
        expect: 200,
        schema: z.looseObject({ tasks: z.array(taskSchema) }),
      })
    ).data.tasks;
  }

  async showTask(taskId: string): Promise<Task> {
    return (await this.http.request("GET", `/v2/tasks/${encodeURIComponent(taskId)}`, { expect: 200, schema: taskSchema })).data;
  }
}

export interface RbdLocation {
  fsid: string;
  pool: string;
  image: string;
  snapshot: string;
}

/**
 * rbd://<fsid>/<pool>/<image>/<snapshot>, unquoted as glance_store does. The legacy rbd://<image>
 * form is an error: without fsid, pool and snapshot Cinder cannot clone from it.
 */
export function parseRbdLocation(url: string): RbdLocation {
  const prefix = "rbd://";
  if (!url.startsWith(prefix)) throw new Error(`not an rbd location: ${url}`);
  const pieces = url.slice(prefix.length).split("/");
  if (pieces.some((p) => p === "")) throw new Error(`rbd location with an empty component: ${url}`);
  if (pieces.length === 1) throw new Error(`legacy rbd location without fsid, pool and snapshot (Cinder cannot clone it): ${url}`);
  if (pieces.length !== 4) throw new Error(`rbd location must have 1 or 4 components, got ${pieces.length}: ${url}`);
  const [fsid, pool, image, snapshot] = pieces.map((p) => decodeURIComponent(p)) as [string, string, string, string];
  return { fsid, pool, image, snapshot };
}

/** The image's location in a store (metadata.store), or undefined. */
export function locationForStore(image: Pick<Image, "locations">, store: string): ImageLocation | undefined {
  return image.locations?.find((l) => l.metadata.store === store);
}

/** The Ceph fsid of the image's location in a store; the error lists the stores that have locations. */
export function locationFsid(image: Pick<Image, "id" | "locations">, store: string): string {
  const loc = locationForStore(image, store);
  if (!loc) {
    const have = (image.locations ?? []).map((l) => l.metadata.store ?? "(no store)");
    throw new Error(
      image.locations === undefined
        ? `image ${image.id} shows no locations (is show_multiple_locations on, and is the caller admin?)`
        : `image ${image.id} has no location in store '${store}' (locations in: ${have.join(", ") || "none"})`,
    );
  }
  return parseRbdLocation(loc.url).fsid;
}

/** The store flagged default in /v2/info/stores. */
export function defaultStore(stores: Store[]): string | undefined {
  return stores.find((s) => s.default === "true")?.id;
}

/** Set comparison of store lists (Glance orders them by weight, not by name). */
export function sameStores(a: Iterable<string>, b: Iterable<string>): boolean {
  const x = new Set(a);
  const y = new Set(b);
  return x.size === y.size && [...x].every((s) => y.has(s));
}
