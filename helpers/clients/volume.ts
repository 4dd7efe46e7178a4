import { z } from "zod";
import type { HttpClient, Query } from "../core/http.ts";
import type { Session } from "./identity.ts";
import { negotiateMicroversion, versionAtLeast, versionRoot, versionsSchema } from "./microversion.ts";
import { paginate } from "./paginate.ts";

export const DEFAULT_VOLUME_MICROVERSION = "3.60";
/** From this volume microversion an in-use volume is snapshotted without force, and force=false is a 400. */
export const SNAPSHOT_IN_USE_MICROVERSION = "3.66";

export const attachmentSchema = z.looseObject({
  id: z.string().optional(),
  attachment_id: z.string().optional(),
  server_id: z.string().nullable().optional(),
  host_name: z.string().nullable().optional(),
  device: z.string().nullable().optional(),
});

export const volumeSchema = z.looseObject({
  id: z.string(),
  name: z.string().nullable(),
  status: z.string(),
  size: z.number(),
  availability_zone: z.string().nullable(),
  volume_type: z.string().nullable().optional(),
  bootable: z.string().optional(),
  attachments: z.array(attachmentSchema),
  metadata: z.record(z.string(), z.string()),
  volume_image_metadata: z.record(z.string(), z.unknown()).optional(),
  snapshot_id: z.string().nullable().optional(),
  source_volid: z.string().nullable().optional(),
  migration_status: z.string().nullable().optional(),
  "os-vol-host-attr:host": z.string().nullable().optional(),
  created_at: z.string(),
});
export type Volume = z.infer<typeof volumeSchema>;

export const snapshotSchema = z.looseObject({
  id: z.string(),
  name: z.string().nullable(),
  status: z.string(),
  volume_id: z.string(),
  size: z.number(),
  description: z.string().nullable().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
  created_at: z.string(),
});
export type Snapshot = z.infer<typeof snapshotSchema>;

export const volumeUploadSchema = z.looseObject({
  "os-volume_upload_image": z.looseObject({
    id: z.string(),
    image_id: z.string(),
    image_name: z.string().optional(),
    status: z.string().optional(),
    disk_format: z.string().optional(),
    container_format: z.string().optional(),
  }),
});
export type VolumeUpload = z.infer<typeof volumeUploadSchema>["os-volume_upload_image"];

export const volumeAzSchema = z.looseObject({
  zoneName: z.string(),
  zoneState: z.looseObject({ available: z.boolean() }),
});
export type VolumeAvailabilityZone = z.infer<typeof volumeAzSchema>;

export const volumeServiceSchema = z.looseObject({
  binary: z.string(),
  host: z.string(),
  zone: z.string().nullable(),
  status: z.string(),
  state: z.string(),
  updated_at: z.string().nullable().optional(),
});
export type VolumeService = z.infer<typeof volumeServiceSchema>;

/** A Cinder user message (microversion 3.3): why an asynchronous operation on a resource failed. */
export const userMessageSchema = z.looseObject({
  id: z.string(),
  user_message: z.string(),
  event_id: z.string().optional(),
  resource_uuid: z.string().nullable().optional(),
  created_at: z.string().optional(),
});
export type UserMessage = z.infer<typeof userMessageSchema>;

export const backupSchema = z.looseObject({
  id: z.string(),
  name: z.string().nullable(),
  status: z.string(),
  volume_id: z.string().optional(),
  size: z.number().optional(),
  container: z.string().nullable().optional(),
  availability_zone: z.string().nullable().optional(),
  fail_reason: z.string().nullable().optional(),
  /** From microversion 3.43. */
  metadata: z.record(z.string(), z.string()).optional(),
});
export type Backup = z.infer<typeof backupSchema>;

/** GET /scheduler-stats/get_pools?detail=true: name is host@backend#pool. */
/** One quota of GET /os-quota-sets/{project}?usage=true: limit -1 is unlimited. */
export const quotaUsageSchema = z.looseObject({ limit: z.number(), in_use: z.number(), reserved: z.number().optional() });
export type QuotaUsage = z.infer<typeof quotaUsageSchema>;
/** Every quota by name (volumes, gigabytes, volumes_<type>...), besides the project id. */
export const quotaSetUsageSchema = z.looseObject({
  quota_set: z.record(z.string(), z.union([quotaUsageSchema, z.string()])),
});
export type QuotaSetUsage = z.infer<typeof quotaSetUsageSchema>;

export const backendPoolSchema = z.looseObject({
  name: z.string(),
  capabilities: z
    .looseObject({
      volume_backend_name: z.string().optional(),
      /** RBD: <cluster>:<ceph conf>:<fsid>:<user>:<pool>. */
      location_info: z.string().optional(),
      backend_state: z.string().optional(),
      thin_provisioning_support: z.boolean().optional(),
    })
    .optional(),
});
export type BackendPool = z.infer<typeof backendPoolSchema>;

/** The backend pools (host@backend#pool) served by the cinder-volume services of an AZ. */
export function poolsInAz(services: VolumeService[], pools: BackendPool[], az: string): BackendPool[] {
  const hosts = new Set(services.filter((s) => s.binary === "cinder-volume" && s.zone === az).map((s) => s.host));
  return pools.filter((p) => hosts.has(p.name.split("#")[0]!));
}

/** The Ceph cluster an RBD backend writes to, from its location_info capability. */
export function rbdBackendTarget(pool: BackendPool): { cluster: string; fsid: string; pool: string } | undefined {
  const info = pool.capabilities?.location_info;
  if (!info) return undefined;
  const parts = info.split(":");
  if (parts.length !== 5) return undefined;
  const [cluster, , fsid, , rbdPool] = parts as [string, string, string, string, string];
  return { cluster, fsid, pool: rbdPool };
}

export interface CreateVolumeBody {
  size: number;
  name?: string;
  description?: string;
  imageRef?: string;
  snapshot_id?: string;
  source_volid?: string;
  availability_zone?: string;
  volume_type?: string;
  metadata?: Record<string, string>;
  [field: string]: unknown;
}

export interface CreateSnapshotBody {
  volume_id: string;
  name?: string;
  description?: string;
  metadata?: Record<string, string>;
  /** true works on both sides of 3.66: it is sent before 3.66 and left out from 3.66 on, where in-use needs no flag. */
  force?: boolean;
}

export interface UploadToImageBody {
  image_name: string;
  force?: boolean;
  disk_format?: string;
  container_format?: string;
  visibility?: string;
  protected?: boolean;
}

/** The block-storage URL with the project id that microversions before 3.67 need. */
export function volumeEndpoint(catalogUrl: string, projectId: string): string {
  const u = catalogUrl.replace(/\/+$/, "");
  if (/\/v3\/[^/]+$/.test(u)) return u;
  if (/\/v3$/.test(u)) return `${u}/${projectId}`;
  return `${u}/v3/${projectId}`;
}

/** Cinder v3 with OpenStack-API-Version: volume <microversion>. */
export class VolumeClient {
  readonly http: HttpClient;
  readonly microversion: string;

  constructor(
    readonly session: Session,
    o: { microversion?: string; timeoutMs?: number; region?: string } = {},
  ) {
    this.microversion = o.microversion ?? DEFAULT_VOLUME_MICROVERSION;
    this.http = session.client("cinder", "volumev3", {
      transform: (u) => volumeEndpoint(u, session.projectId),
      headers: { "OpenStack-API-Version": `volume ${this.microversion}` },
      timeoutMs: o.timeoutMs,
      region: o.region,
    });
  }

  /** A client at the wanted microversion, or the server's maximum when that is lower. */
  static async negotiate(session: Session, o: { microversion?: string; timeoutMs?: number; region?: string } = {}): Promise<VolumeClient> {
    const probe = session.client("cinder", "volumev3", { transform: versionRoot, timeoutMs: o.timeoutMs, region: o.region });
    const res = await probe.request("GET", "/", { expect: [200, 300], schema: versionsSchema });
    const microversion = negotiateMicroversion(res.data, "3", o.microversion ?? DEFAULT_VOLUME_MICROVERSION, "volume");
    return new VolumeClient(session, { ...o, microversion });
  }

  async createVolume(body: CreateVolumeBody): Promise<Volume> {
    return (
      await this.http.request("POST", "/volumes", { expect: 202, json: { volume: body }, schema: z.looseObject({ volume: volumeSchema }) })
    ).data.volume;
  }

  async showVolume(id: string): Promise<Volume> {
    return (
      await this.http.request("GET", `/volumes/${encodeURIComponent(id)}`, { expect: 200, schema: z.looseObject({ volume: volumeSchema }) })
    ).data.volume;
  }

  async listVolumes(filter: Query = {}): Promise<Volume[]> {
    return paginate(this.http, "/volumes/detail", "volumes", volumeSchema, filter);
  }

  async deleteVolume(id: string, o: { cascade?: boolean } = {}): Promise<void> {
    await this.http.request("DELETE", `/volumes/${encodeURIComponent(id)}`, {
      expect: 202,
      query: o.cascade ? { cascade: true } : undefined,
      responseType: "text",
    });
  }

  async createSnapshot(body: CreateSnapshotBody): Promise<Snapshot> {
    const snapshot: Record<string, unknown> = { ...body };
    // NOTE: from 3.66 force=true is silently ignored and force=false is rejected; in-use volumes need no flag there.
    if (body.force === true && versionAtLeast(this.microversion, SNAPSHOT_IN_USE_MICROVERSION)) delete snapshot.force;
    return (
      await this.http.request("POST", "/snapshots", {
        expect: 202,
        json: { snapshot },
        schema: z.looseObject({ snapshot: snapshotSchema }),
      })
    ).data.snapshot;
  }

  async showSnapshot(id: string): Promise<Snapshot> {
    return (
      await this.http.request("GET", `/snapshots/${encodeURIComponent(id)}`, {
        expect: 200,
        schema: z.looseObject({ snapshot: snapshotSchema }),
      })
    ).data.snapshot;
  }

  async listSnapshots(filter: Query = {}): Promise<Snapshot[]> {
    return paginate(this.http, "/snapshots/detail", "snapshots", snapshotSchema, filter);
  }

  /** Adds to (or overwrites keys of) a snapshot's metadata. */
  async setSnapshotMetadata(id: string, metadata: Record<string, string>): Promise<Record<string, string>> {
    return (
      await this.http.request("POST", `/snapshots/${encodeURIComponent(id)}/metadata`, {
        expect: 200,
        json: { metadata },
        schema: z.looseObject({ metadata: z.record(z.string(), z.string()) }),
      })
    ).data.metadata;
  }

  /** Adds to (or overwrites keys of) a volume's metadata. */
  async setVolumeMetadata(id: string, metadata: Record<string, string>): Promise<Record<string, string>> {
    return (
      await this.http.request("POST", `/volumes/${encodeURIComponent(id)}/metadata`, {
        expect: 200,
        json: { metadata },
        schema: z.looseObject({ metadata: z.record(z.string(), z.string()) }),
      })
    ).data.metadata;
  }

  /** Replaces a backup's metadata whole (PUT /backups/{id}, microversion 3.43). */
  async updateBackupMetadata(id: string, metadata: Record<string, string>): Promise<void> {
    await this.http.request("PUT", `/backups/${encodeURIComponent(id)}`, {
      expect: 200,
      json: { backup: { metadata } },
      schema: z.looseObject({ backup: z.looseObject({ id: z.string() }) }),
    });
  }

  async deleteSnapshot(id: string): Promise<void> {
    await this.http.request("DELETE", `/snapshots/${encodeURIComponent(id)}`, { expect: 202, responseType: "text" });
  }

  /** os-volume_upload_image: the image id is in the response; the image fills in the background. */
  async uploadVolumeToImage(id: string, body: UploadToImageBody): Promise<VolumeUpload> {
    return (
      await this.http.request("POST", `/volumes/${encodeURIComponent(id)}/action`, {
        expect: 202,
        json: { "os-volume_upload_image": body },
        schema: volumeUploadSchema,
      })
    ).data["os-volume_upload_image"];
  }

  async listAvailabilityZones(): Promise<VolumeAvailabilityZone[]> {
    return (
      await this.http.request("GET", "/os-availability-zone", {
        expect: 200,
        schema: z.looseObject({ availabilityZoneInfo: z.array(volumeAzSchema) }),
      })
    ).data.availabilityZoneInfo;
  }

  /** availability_zone (microversion 3.51) pins the backup, its restores and its deletion to that AZ's backup service. */
  async createBackup(body: {
    volume_id: string;
    name: string;
    force?: boolean;
    availability_zone?: string;
    metadata?: Record<string, string>;
  }): Promise<Backup> {
    return (
      await this.http.request("POST", "/backups", {
        expect: 202,
        json: { backup: body },
        schema: z.looseObject({ backup: backupSchema.partial({ status: true }) }),
      })
    ).data.backup as Backup;
  }

  async showBackup(id: string): Promise<Backup> {
    return (
      await this.http.request("GET", `/backups/${encodeURIComponent(id)}`, { expect: 200, schema: z.looseObject({ backup: backupSchema }) })
    ).data.backup;
  }

  async listBackups(filter: Query = {}): Promise<Backup[]> {
    return paginate(this.http, "/backups/detail", "backups", backupSchema, filter);
  }

  async showQuotaUsage(projectId: string): Promise<QuotaSetUsage> {
    return (
      await this.http.request("GET", `/os-quota-sets/${encodeURIComponent(projectId)}`, {
        expect: 200,
        query: { usage: "true" },
        schema: quotaSetUsageSchema,
      })
    ).data;
  }

  async deleteBackup(id: string): Promise<void> {
    await this.http.request("DELETE", `/backups/${encodeURIComponent(id)}`, { expect: 202, responseType: "text" });
  }

  /** Restores into an existing volume (so that it stays in its AZ). */
  async restoreBackup(id: string, volumeId: string): Promise<void> {
    await this.http.request("POST", `/backups/${encodeURIComponent(id)}/restore`, {
      expect: 202,
      json: { restore: { volume_id: volumeId } },
      responseType: "text",
    });
  }

  async listBackendPools(): Promise<BackendPool[]> {
    return (
      await this.http.request("GET", "/scheduler-stats/get_pools", {
        expect: 200,
        query: { detail: "true" },
        schema: z.looseObject({ pools: z.array(backendPoolSchema) }),
      })
    ).data.pools;
  }

  async listMessages(filter: { resource_uuid?: string } = {}): Promise<UserMessage[]> {
    return (
      await this.http.request("GET", "/messages", {
        expect: 200,
        query: filter,
        schema: z.looseObject({ messages: z.array(userMessageSchema) }),
      })
    ).data.messages;
  }

  async listServices(filter: { host?: string; binary?: string } = {}): Promise<VolumeService[]> {
    return (
      await this.http.request("GET", "/os-services", {
        expect: 200,
        query: filter,
        schema: z.looseObject({ services: z.array(volumeServiceSchema) }),
      })
    ).data.services;
  }
}
