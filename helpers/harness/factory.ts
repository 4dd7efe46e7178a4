import { siteFlavor, siteNetwork } from "../config/site.ts";
import type { Readable } from "node:stream";
import type { Server } from "../clients/compute.ts";
import type { Image } from "../clients/image.ts";
import type { Clients } from "../clients/index.ts";
import type { Backup, Snapshot, Volume } from "../clients/volume.ts";
import {
  waitForBackupStatus,
  waitForImageStatus,
  waitForServerStatus,
  waitForSnapshotStatus,
  waitForVolumeStatus,
} from "../clients/waiters.ts";
import type { Config, Site } from "../config/schema.ts";
import { timing } from "../config/timing.ts";
import type { RunInfo } from "./model.ts";
import { GROUP_PROPERTY, RUN_PROPERTY } from "./naming.ts";
import type { ResourceKind, ResourceTracker } from "./resources.ts";
import { attachWait, step } from "./steps.ts";
import type { WaitResult } from "../core/wait.ts";

/**
 * Creates the run's resources. Each call names the resource after the run and the site, marks it as
 * the run's, registers its cleanup the moment the cloud has it (last in, first out) and waits until
 * it is usable, in a step of its own.
 */
/** What the factory needs of a site's context. */
export interface FactoryContext {
  run: RunInfo;
  config: Config;
  site: Site;
  clients: Clients;
  tracker: ResourceTracker;
  name(what: string): string;
}

export class ResourceFactory {
  constructor(private readonly c: FactoryContext) {}

  /** The run's mark, in the metadata of volumes, snapshots, backups and servers. */
  private get mark(): Record<string, string> {
    return { [RUN_PROPERTY]: this.c.run.runId, ...(this.c.run.group ? { [GROUP_PROPERTY]: this.c.run.group } : {}) };
  }

  /** A wait in a step of its own, with its timeline attached to the report. */
  private async waited<T>(title: string, label: string, wait: () => Promise<WaitResult<T>>): Promise<T> {
    return step(title, async () => {
      const r = await wait();
      await attachWait(label, r);
      return r.value;
    });
  }

  private track(kind: ResourceKind, id: string, name: string): void {
    this.c.tracker.track({ kind, id, name, site: this.c.site.name });
  }

  /**
   * Puts the run's mark on an image the harness did not create itself (Cinder's upload), unless it
   * already carries it.
   */
  private async markImage(id: string): Promise<void> {
    const glance = this.c.clients.image;
    const img = (await glance.showImage(id)) as Record<string, unknown>;
    // NOTE: Cinder copies the source image's properties to the upload, so the properties may be there with another run's ids.
    const patch = Object.entries(this.mark)
      .filter(([k, v]) => img[k] !== v)
      .map(([k, v]) => ({ op: img[k] === undefined ? ("add" as const) : ("replace" as const), path: `/${k}`, value: v }));
    if (patch.length) await glance.updateImage(id, patch);
  }

  /**
   * Registers the copy of an image the run is about to make in a store (copy-image): cleanup deletes it from that
   * store only. Registered before the request, so that an interrupted copy is removed too.
   */
  imageCopy(imageId: string, name: string, store: string): void {
    this.c.tracker.track({ kind: "image-copy", id: imageId, name, site: this.c.site.name, store });
  }

  /** The site's volume type, else the config's default, else none (the cloud's default type). */
  private volumeType(): { volume_type?: string } {
    const t = this.c.site.volumeType ?? this.c.config.volume.type;
    return t ? { volume_type: t } : {};
  }

  /** An image record, queued for its data. `as` creates it with other clients (a non-admin user). */
  async image(what: string, o: { diskFormat?: string; as?: Clients; properties?: Record<string, string> } = {}): Promise<Image> {
    const name = this.c.name(what);
    // NOTE: Cinder 21 uploads a volume made from an image with properties {} when the image has no
    // custom property, and Glance refuses that (400); the run's property keeps the image uploadable.
    const img = await (o.as ?? this.c.clients).image.createImage({
      name,
      disk_format: o.diskFormat ?? "raw",
      container_format: "bare",
      visibility: "private",
      ...o.properties,
      ...this.mark,
    });
    this.track("image", img.id, name);
    return img;
  }

  /** An image whose data is uploaded (PUT /file) to one store, or the default one, active. */
  async uploadedImage(
    what: string,
    data: Readable | Buffer,
    o: { size: number; store?: string; diskFormat?: string; as?: Clients },
  ): Promise<Image> {
    const glance = (o.as ?? this.c.clients).image;
    const img = await this.image(what, o);
    await glance.uploadImageData(img.id, data, { store: o.store, size: o.size, timeoutMs: this.c.config.timeouts.imageActive * 1000 });
    return this.imageActive(img.id, o.as);
  }

  async imageActive(id: string, as?: Clients, key: "imageActive" | "volumeUpload" = "imageActive"): Promise<Image> {
    return this.waited("wait until the image is active", "image active", () =>
      waitForImageStatus((as ?? this.c.clients).image, id, "active", timing(this.c.config.timeouts, key)),
    );
  }

  /**
   * A volume in the site's AZ (from an image, a snapshot, or blank), available. With settle false it
   * is returned as Cinder accepted it, for checks that judge how it settles.
   */
  async volume(
    what: string,
    o: { imageRef?: string; snapshotId?: string; size?: number; az?: string; settle?: boolean; metadata?: Record<string, string> } = {},
  ): Promise<Volume> {
    const name = this.c.name(what);
    const v = await this.c.clients.volume.createVolume({
      size: o.size ?? this.c.config.volume.sizeGiB,
      name,
      availability_zone: o.az ?? this.c.site.az,
      metadata: { ...o.metadata, ...this.mark },
      ...(o.imageRef ? { imageRef: o.imageRef } : {}),
      ...(o.snapshotId ? { snapshot_id: o.snapshotId } : {}),
      ...this.volumeType(),
    });
    this.track("volume", v.id, name);
    if (o.settle !== false) await this.volumeStatus(v.id, "available");
    return v;
  }

  async volumeStatus(id: string, status: string): Promise<Volume> {
    return this.waited(`wait until the volume is ${status}`, `volume ${status}`, () =>
      waitForVolumeStatus(this.c.clients.volume, id, status, timing(this.c.config.timeouts, "volumeAvailable")),
    );
  }

  /** A server booted from a volume in the site's AZ, ACTIVE. */
  async serverFromVolume(what: string, volumeId: string, o: { metadata?: Record<string, string> } = {}): Promise<Server> {
    const name = this.c.name(what);
    const flavor = await this.c.clients.compute.findFlavor(siteFlavor(this.c.config, this.c.site));
    const network = siteNetwork(this.c.config, this.c.site);
    const s = await this.c.clients.compute.createServer({
      name,
      flavorRef: flavor.id,
      availability_zone: this.c.site.az,
      block_device_mapping_v2: [
        { boot_index: 0, uuid: volumeId, source_type: "volume", destination_type: "volume", delete_on_termination: false },
      ],
      networks: network === "none" ? "none" : [{ uuid: network }],
      metadata: { ...o.metadata, ...this.mark },
    });
    this.track("server", s.id, name);
    return this.serverStatus(s.id, "ACTIVE");
  }

  async serverStatus(id: string, status: "ACTIVE" | "SHUTOFF"): Promise<Server> {
    const key = status === "ACTIVE" ? "serverActive" : "serverStopped";
    return this.waited(`wait until the server is ${status}`, `server ${status}`, () =>
      waitForServerStatus(this.c.clients.compute, id, status, timing(this.c.config.timeouts, key)),
    );
  }

  /** A Cinder snapshot of a volume (force: the volume may be in use), available. */
  async snapshot(what: string, volumeId: string, o: { force?: boolean; metadata?: Record<string, string> } = {}): Promise<Snapshot> {
    const name = this.c.name(what);
    const s = await this.c.clients.volume.createSnapshot({
      volume_id: volumeId,
      name,
      metadata: { ...o.metadata, ...this.mark },
      ...(o.force ? { force: true } : {}),
    });
    this.track("snapshot", s.id, name);
    return this.waited("wait until the snapshot is available", "snapshot available", () =>
      waitForSnapshotStatus(this.c.clients.volume, s.id, "available", timing(this.c.config.timeouts, "snapshotAvailable")),
    );
  }

  /** A backup of a volume, in the site's AZ, available. */
  async backup(what: string, volumeId: string, o: { metadata?: Record<string, string> } = {}): Promise<Backup> {
    const name = this.c.name(what);
    // NOTE: without an AZ the backup gets none, and Cinder sends its restore and delete to any site's backup service.
    const b = await this.c.clients.volume.createBackup({
      volume_id: volumeId,
      name,
      availability_zone: this.c.site.az,
      metadata: { ...o.metadata, ...this.mark },
    });
    this.track("backup", b.id, name);
    return this.backupAvailable(b.id);
  }

  async backupAvailable(id: string): Promise<Backup> {
    return this.waited("wait until the backup is available", "backup available", () =>
      waitForBackupStatus(this.c.clients.volume, id, "available", timing(this.c.config.timeouts, "volumeUpload")),
    );
  }

  /** Nova's image of a server (createImage), active; the Cinder snapshots Nova makes for it are tracked too. */
  async serverImage(what: string, serverId: string): Promise<Image> {
    const name = this.c.name(what);
    const { imageId } = await this.c.clients.compute.createServerImage(serverId, name, this.mark);
    this.track("image", imageId, name);
    const tracked = new Set<string>();
    const trackBdmSnapshots = async (img: Image) => {
      for (const id of bdmSnapshotIds(img).filter((x) => !tracked.has(x))) {
        tracked.add(id);
        this.track("snapshot", id, `snapshot for ${name}`);
        // NOTE: Nova makes these snapshots without metadata; the mark is added once they are known.
        await this.c.clients.volume.setSnapshotMetadata(id, this.mark);
      }
    };
    await trackBdmSnapshots(await this.c.clients.image.showImage(imageId));
    const active = await this.imageActive(imageId);
    await trackBdmSnapshots(active);
    return active;
  }

  /** Cinder's upload of a volume's data to a new image (upload-to-image), active, with the volume available again. */
  async volumeImage(what: string, volumeId: string): Promise<Image> {
    const name = this.c.name(what);
    const up = await this.c.clients.volume.uploadVolumeToImage(volumeId, {
      image_name: name,
      disk_format: "raw",
      container_format: "bare",
    });
    this.track("image", up.image_id, name);
    await this.markImage(up.image_id);
    const active = await this.imageActive(up.image_id, undefined, "volumeUpload");
    await this.volumeStatus(volumeId, "available");
    return active;
  }
}

/** The Cinder snapshots Nova made for a volume-backed server image, from its block_device_mapping property. */
export function bdmSnapshotIds(image: Image): string[] {
  const raw = (image as Record<string, unknown>).block_device_mapping;
  if (typeof raw !== "string") return [];
  try {
    return (JSON.parse(raw) as { snapshot_id?: string }[]).map((b) => b.snapshot_id).filter((x): x is string => Boolean(x));
  } catch {
    return [];
  }
}
