import { describe } from "vitest";
import type { Image } from "../helpers/clients/image.ts";
import {
  apiRefusal, assertClone, checkLocation, copyImage, defect, findRbdImage, imageEvidence, importRawImageToCentral,
  rbdEvidence, waitServer, waitVolume,
} from "../helpers/dcn.ts";
import { attachJson, attachWait, outcome, step } from "../helpers/steps.ts";
import type { SiteContext } from "../helpers/run-context.ts";
import { timing, waitForImageStatus, waitForSnapshotStatus } from "../helpers/waiters.ts";
import { edgeRules } from "./edge-rules.ts";
import { procedureTest, siteSuite, suiteSelected } from "./support.ts";

const { ctx, site } = siteSuite();

/** What each step hands to the next; a later step is skipped when an earlier one did not produce it. */
const state: { image?: Image; volumeId?: string; serverId?: string; snapshotId?: string } = {};

const needs = (what: keyof typeof state, step: string) => () => (state[what] ? undefined : `needs ${step}, which did not complete`);

/** Steps 3 to 7 at this edge. */
function procedure(): void {
  procedureTest(site, "dcn-3-copy-to-edge", `3. copy-image puts the image in store ${site}, on ${site}'s own Ceph cluster`, {}, async () => {
    const c = ctx();
    // NOTE: copy-image requests for one image must never overlap (the lock in os_glance_import_task
    // refuses the second with 409), so each edge site copies an image of its own.
    const { image } = await importRawImageToCentral(c, "image");
    const copied = await copyImage(c, image.id, [c.site.store]);
    await attachJson("image after copy", imageEvidence(copied));
    await step(`stores holds ${c.central.store} and ${c.site.store}`, async () => {
      const missing = [c.central.store, c.site.store].filter((s) => !copied.stores.includes(s));
      if (missing.length) defect(c, `image ${copied.id} stores are [${copied.stores.join(", ")}]; missing ${missing.join(", ")}`);
    });
    // The copy is in the edge store: the next steps can use it even if its location checks fail.
    state.image = copied;
    await checkLocation(c, copied, c.site);
    await step(`rbd on ${site} shows images/${copied.id} with a protected snap`, async () => {
      await rbdEvidence(c.probe(c.site), "images", `${site} images pool`);
      const snaps = await c.probe(c.site).rbdSnapshots("images", copied.id);
      await attachJson(`rbd snap ls images/${copied.id}`, snaps);
      if (!snaps.some((s) => s.name === "snap" && s.protected)) defect(c, `images/${copied.id}@snap on ${site} is missing or not protected`);
    });
  });

  procedureTest(site, "dcn-4-boot-from-volume", `4. a volume from the image in AZ ${site} boots a server in AZ ${site}`, { needs: needs("image", "step 3") }, async () => {
    const c = ctx();
    const { volume, compute } = c.clients;
    const vol = await step(`create a ${c.config.volume.sizeGiB} GiB volume from the image in AZ ${c.site.az}`, async () => {
      const v = await volume.createVolume({
        size: c.config.volume.sizeGiB, name: c.name("volume"), imageRef: state.image!.id, availability_zone: c.site.az,
        ...volumeType(c),
      });
      c.tracker.track({ kind: "volume", id: v.id, name: c.name("volume"), site });
      return v;
    });
    await step("wait until the volume is available", () => waitVolume(c, vol.id, "available"));
    state.volumeId = vol.id;
    const flavor = await compute.findFlavor(c.config.flavor);
    const server = await step(`boot server ${c.name("server")} from the volume in AZ ${c.site.az}`, async () => {
      const s = await compute.createServer({
        name: c.name("server"), flavorRef: flavor.id, availability_zone: c.site.az,
        block_device_mapping_v2: [{ boot_index: 0, uuid: vol.id, source_type: "volume", destination_type: "volume", delete_on_termination: false }],
        networks: c.config.network === "none" ? "none" : [{ uuid: c.config.network }],
      });
      c.tracker.track({ kind: "server", id: s.id, name: c.name("server"), site });
      return s;
    });
    const active = await step("wait until the server is ACTIVE", () => waitServer(c, server.id, "ACTIVE", "serverActive"));
    state.serverId = server.id;
    await attachJson("server", active);
    await attachJson("volume", await volume.showVolume(vol.id));
    await step(`the server runs in AZ ${c.site.az} on a host of that AZ`, async () => {
      const az = active["OS-EXT-AZ:availability_zone"];
      const host = active["OS-EXT-SRV-ATTR:host"];
      if (az !== c.site.az) defect(c, `server ${server.id} is in AZ ${az}, expected ${c.site.az}`);
      const zones = await compute.listAvailabilityZones(true);
      const zone = zones.find((z) => z.zoneName === c.site.az);
      if (host && zone?.hosts && !(host in zone.hosts)) defect(c, `server ${server.id} runs on host ${host}, which is not in AZ ${c.site.az} (hosts: ${Object.keys(zone.hosts).join(", ")})`);
    });
  });

  procedureTest(site, "dcn-5-rbd-parent", `5. rbd -p volumes ls -l on ${site} shows the volume as a clone of images/<image>@snap`, { needs: needs("volumeId", "step 4") }, async () => {
    const c = ctx();
    const rbdName = `volume-${state.volumeId}`;
    const entries = await step(`run rbd -p volumes ls -l on ${site}'s cluster`, () => rbdEvidence(c.probe(c.site), "volumes", `${site} volumes pool`));
    await step(`${rbdName} has parent images/${state.image!.id}@snap`, async () => {
      if (!entries.some((e) => e.image === rbdName)) {
        const where = await findRbdImage(c, "volumes", rbdName);
        defect(c, where.length
          ? `${rbdName} lives in the Ceph cluster of ${where.join(", ")}, not in ${site}'s`
          : `${rbdName} is in no configured site's volumes pool`);
      }
      assertClone(c, entries, rbdName, state.image!.id);
    });
  });

  procedureTest(site, "dcn-6-cinder-snapshot", `6. a Cinder snapshot of the stopped server's root volume on ${site} is a protected clone of the same parent`, { needs: needs("serverId", "step 4") }, async () => {
    const c = ctx();
    const { compute, volume } = c.clients;
    await step("stop the server", () => compute.stopServer(state.serverId!));
    await step("wait until the server is SHUTOFF", () => waitServer(c, state.serverId!, "SHUTOFF", "serverStopped"));
    const snap = await step(`snapshot the root volume with force`, async () => {
      const s = await volume.createSnapshot({ volume_id: state.volumeId!, name: c.name("snapshot"), force: true });
      c.tracker.track({ kind: "snapshot", id: s.id, name: c.name("snapshot"), site });
      return s;
    });
    await step("wait until the snapshot is available", async () => {
      const r = await waitForSnapshotStatus(volume, snap.id, "available", timing(c.config.timeouts, "snapshotAvailable"));
      await attachWait("snapshot available", r);
    });
    state.snapshotId = snap.id;
    await step("start the server", () => compute.startServer(state.serverId!));
    await step("wait until the server is ACTIVE", () => waitServer(c, state.serverId!, "ACTIVE", "serverActive"));
    const entries = await step(`run rbd -p volumes ls -l on ${site}'s cluster`, () => rbdEvidence(c.probe(c.site), "volumes", `${site} volumes pool after the snapshot`));
    await step(`volume-${state.volumeId}@snapshot-${snap.id} has the same parent and is protected`, async () => {
      const e = assertClone(c, entries, `volume-${state.volumeId}`, state.image!.id, `snapshot-${snap.id}`);
      if (!e.protected) defect(c, `volume-${state.volumeId}@snapshot-${snap.id} on ${site} is not protected (PROT is not yes)`);
    });
  });

  procedureTest(site, "dcn-7-back-to-central", `7. an image made at ${site} comes back to central with its data`, { needs: needs("snapshotId", "step 6") }, async () => {
    const c = ctx();
    const { compute, image: glance, volume } = c.clients;
    const snapImage = await step(`make an image of server ${c.name("server")}`, async () => {
      const { imageId } = await compute.createServerImage(state.serverId!, c.name("server-snapshot"));
      c.tracker.track({ kind: "image", id: imageId, name: c.name("server-snapshot"), site });
      // Nova made a Cinder snapshot of the root volume for this image: it is the run's to delete too.
      const tracked = new Set<string>();
      const trackBdmSnapshots = (img: Image) => {
        for (const id of bdmSnapshotIds(img).filter((x) => !tracked.has(x))) {
          tracked.add(id);
          c.tracker.track({ kind: "snapshot", id, name: `snapshot for ${c.name("server-snapshot")}`, site });
        }
      };
      trackBdmSnapshots(await glance.showImage(imageId));
      const r = await waitForImageStatus(glance, imageId, "active", timing(c.config.timeouts, "imageActive"));
      await attachWait("server image active", r);
      trackBdmSnapshots(r.value);
      await attachJson("server image", { ...imageEvidence(r.value), block_device_mapping: r.value.block_device_mapping });
      return r.value;
    });
    const carriesData = (snapImage.size ?? 0) > 0 && snapImage.stores.length > 0;
    if (carriesData) {
      const back = await copyImage(c, snapImage.id, [c.central.store]);
      if (!back.stores.includes(c.central.store)) defect(c, `server image ${snapImage.id} did not reach ${c.central.store}`);
    } else {
      await outcome(
        "7a. the server image of a volume-backed server carries no data",
        `image ${snapImage.id} has size ${snapImage.size ?? 0}, stores [${snapImage.stores.join(", ")}] and a block_device_mapping ` +
          `property: Nova snapshotted the root volume in Cinder instead of uploading disk data, so there is nothing to copy to ${c.central.store}.`,
      );
      await step(`copy-image of that image to ${c.central.store}`, async () => {
        try {
          await glance.importImage(snapImage.id, { method: "copy-image", stores: [c.central.store] });
        } catch (e) {
          const refusal = apiRefusal(e);
          if (!refusal) throw e;
          await outcome(`7b. Glance refuses to copy it: HTTP ${refusal.status}`, refusal.message);
          return;
        }
        await outcome("7b. Glance accepted the copy of a data-less image", `image ${snapImage.id}: copy-image to ${c.central.store} returned 202`);
      });
    }

    const fromSnap = await step(`create a volume from the Cinder snapshot in AZ ${c.site.az}`, async () => {
      const v = await volume.createVolume({
        size: c.config.volume.sizeGiB, name: c.name("upload-source"), snapshot_id: state.snapshotId!, availability_zone: c.site.az,
        ...volumeType(c),
      });
      c.tracker.track({ kind: "volume", id: v.id, name: c.name("upload-source"), site });
      return v;
    });
    await step("wait until that volume is available", () => waitVolume(c, fromSnap.id, "available"));
    const uploaded = await step(`upload the edge volume's data to an image (store ${c.site.store})`, async () => {
      const up = await volume.uploadVolumeToImage(fromSnap.id, { image_name: c.name("volume-upload"), disk_format: "raw", container_format: "bare" });
      c.tracker.track({ kind: "image", id: up.image_id, name: c.name("volume-upload"), site });
      const r = await waitForImageStatus(glance, up.image_id, "active", timing(c.config.timeouts, "volumeUpload"));
      await attachWait("uploaded image active", r);
      await waitVolume(c, fromSnap.id, "available");
      return r.value;
    });
    await attachJson("uploaded image", imageEvidence(uploaded));
    await step(`the uploaded image is in store ${c.site.store} only`, async () => {
      if (uploaded.stores.length !== 1 || uploaded.stores[0] !== c.site.store) {
        defect(c, `the image uploaded from ${site}'s volume is in stores [${uploaded.stores.join(", ")}], expected ${c.site.store} ` +
          `(the volume type needs image_service:store_id=${c.site.store})`);
      }
    });
    const back = await copyImage(c, uploaded.id, [c.central.store]);
    await attachJson("uploaded image after the copy to central", imageEvidence(back));
    await checkLocation(c, back, c.central);
    await step(`the data in ${site}'s and ${c.central.name}'s clusters hashes to os_hash_value`, async () => {
      const spec = `images/${back.id}@snap`;
      const [edge, central] = await Promise.all([
        c.probe(c.site).exportSha512(spec, { timeoutMs: c.config.timeouts.volumeUpload * 1000 }),
        c.probe(c.central).exportSha512(spec, { timeoutMs: c.config.timeouts.volumeUpload * 1000 }),
      ]);
      await attachJson("hashes", { os_hash_value: back.os_hash_value, [site]: edge, [c.central.name]: central });
      if (edge.sha512 !== back.os_hash_value) defect(c, `${spec} on ${site} hashes to ${edge.sha512}, not the image's os_hash_value ${back.os_hash_value}`);
      if (central.sha512 !== back.os_hash_value) defect(c, `${spec} on ${c.central.name} hashes to ${central.sha512}, not the image's os_hash_value ${back.os_hash_value}`);
    });
  });
}

describe.sequential(`edge site ${site}`, () => {
  if (suiteSelected("procedure")) procedure();
  if (suiteSelected("rules")) edgeRules(site, ctx);
});

/** The site's volume type, else the config's default, else none (the cloud's default type). */
function volumeType(c: SiteContext): { volume_type?: string } {
  const t = c.site.volumeType ?? c.config.volume.type;
  return t ? { volume_type: t } : {};
}

/** The Cinder snapshots Nova made for a volume-backed server image, from its block_device_mapping property. */
function bdmSnapshotIds(image: Image): string[] {
  const raw = (image as Record<string, unknown>).block_device_mapping;
  if (typeof raw !== "string") return [];
  try {
    return (JSON.parse(raw) as { snapshot_id?: string }[]).map((b) => b.snapshot_id).filter((x): x is string => Boolean(x));
  } catch {
    return [];
  }
}
