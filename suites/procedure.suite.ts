import { assertClone, imageParent } from "../helpers/checks/clones.ts";
import { checkData } from "../helpers/checks/data.ts";
import { copyRefusal, defect, imageEvidence, locateRbdImage, rbdEvidence } from "../helpers/checks/evidence.ts";
import { sitePools } from "../helpers/config/pools.ts";
import { checkImageSnapshot, checkLocation, copyImage, type EdgeImage, importRawImageToCentral } from "../helpers/checks/images.ts";
import { downloadDigest, edgeDefaultStoreDefect, servedDataDefect, siteGlance } from "../helpers/checks/edge-glance.ts";
import { defaultStore } from "../helpers/clients/image.ts";
import { isApiError } from "../helpers/core/http.ts";
import { attachJson, notVerified, outcome, step, warning } from "../helpers/harness/steps.ts";
import { tierAllows } from "../helpers/harness/catalog.ts";
import { defineSuite, type SiteSuite } from "../helpers/harness/suite.ts";

/** The DCN verification procedure: steps 1 and 2 at central, steps 3 to 7 at each edge site. */
function procedureSuite(s: SiteSuite): void {
  const { ctx, site, role, run, test, give, take } = s;

  s.describe(`${role === "central" ? "central" : "edge"} site ${site}`, () => {
    test(
      {
        id: "dcn-1-stores",
        title: "1. the Glance stores list central as the default and every configured edge store",
        where: "central",
        tier: "read-only",
      },
      async () => {
        const c = ctx();
        const stores = await step("list the Glance stores (GET /v2/info/stores)", async () => {
          const s = await c.clients.image.listStores();
          await attachJson("stores", s);
          return s;
        });
        const ids = stores.map((s) => s.id);
        await step(`${c.central.store} is the default store`, async () => {
          const def = defaultStore(stores);
          if (def !== c.central.store) defect(c, `the default Glance store is ${def ?? "not set"}, expected ${c.central.store}`);
        });
        await step("every configured edge store is present", async () => {
          const missing = c.config.edges.filter((e) => !ids.includes(e.store)).map((e) => `${e.store} (site ${e.name})`);
          if (missing.length) defect(c, `Glance has no store ${missing.join(", ")}; it lists ${ids.join(", ")}`);
        });
        const expected = new Set(c.sites.map((s) => s.store));
        const unexpected = ids.filter((id) => !expected.has(id));
        if (unexpected.length)
          await warning(
            `stores not in the config: ${unexpected.join(", ")}`,
            `Glance lists ${ids.join(", ")}; the config names ${[...expected].join(", ")}`,
          );
      },
    );

    test(
      {
        id: "dcn-2-raw-import",
        title: "2. a raw image uploaded to central lands in the central store only, with the hash computed while streaming",
        where: "central",
        tier: "standard",
        creates: ["image (raw, central store)"],
      },
      async () => {
        const c = ctx();
        const { image, localSha512, prepared } = await importRawImageToCentral(c);
        await step(`the image is raw and its stores are exactly ${c.central.store}`, async () => {
          if (image.disk_format !== "raw") defect(c, `image ${image.id} has disk_format ${image.disk_format}, expected raw`);
          if (image.stores.length !== 1 || image.stores[0] !== c.central.store) {
            defect(c, `image ${image.id} is in stores [${image.stores.join(", ")}], expected only ${c.central.store}`);
          }
        });
        await step("os_hash_value equals the sha512 computed locally while streaming", async () => {
          await attachJson("hashes", {
            local_sha512: localSha512,
            os_hash_algo: image.os_hash_algo,
            os_hash_value: image.os_hash_value,
            bytes: prepared.sizeBytes,
            size: image.size,
          });
          if (image.os_hash_value !== localSha512)
            defect(c, `image ${image.id} os_hash_value ${image.os_hash_value} differs from the local sha512 ${localSha512}`);
        });
        await checkLocation(c, image, c.central);
        await checkImageSnapshot(c, c.central, image.id);
        const known = { sha512: localSha512, sizeBytes: prepared.sizeBytes };
        await checkData(c, c.central, imageParent(c, image.id, c.central), known, { what: "the image", exactBytes: prepared.sizeBytes });
        await attachJson("image", imageEvidence(image));
      },
    );

    test(
      {
        id: "dcn-3-copy-to-edge",
        title: `3. copy-image puts the image in store ${site}, on ${site}'s own Ceph cluster`,
        where: "edge",
        tier: "standard",
        creates: ["image (raw, central store, copied to the edge store)"],
        provides: ["edge-image"],
        admin: { why: "copy-image is admin-only" },
      },
      async () => {
        const c = ctx();
        // NOTE: copy-image requests for one image must never overlap (the lock in os_glance_import_task
        // refuses the second with 409), so each edge site copies an image of its own.
        const { image, localSha512, prepared } = await importRawImageToCentral(c, "image");
        const copied = await copyImage(c, image.id, [c.site.store]);
        await attachJson("image after copy", imageEvidence(copied));
        const known = { sha512: localSha512, sizeBytes: prepared.sizeBytes };
        // The copy is in the edge store (its waiter saw to that): the next steps can use it even if the checks below fail.
        give<EdgeImage>("edge-image", { image: copied, known });
        await checkLocation(c, copied, c.site);
        await checkImageSnapshot(c, c.site, copied.id);
        await checkData(c, c.site, imageParent(c, copied.id), known, { what: "the edge copy", exactBytes: prepared.sizeBytes });
      },
    );

    test(
      {
        id: "dcn-3b-edge-glance",
        title: `3b. ${site}'s own Glance API answers, its default store is ${site}'s, and it serves the image copied there`,
        where: "edge",
        tier: "read-only",
        createsWhenWritable: ["image (1 MiB raw) uploaded through the site's own Glance API, naming no store"],
        needs: ["edge-image"],
        notApplicable: (_, s) => (s.glance ? undefined : `${s.name} names no Glance API of its own (glance.endpoint)`),
      },
      async () => {
        const c = ctx();
        const { endpoint, glance } = siteGlance(c);
        const stores = await step(`list the stores of ${site}'s Glance API ${endpoint} (GET /v2/info/stores)`, async () => {
          const s = await glance.listStores();
          await attachJson(`stores of ${endpoint}`, s);
          return s;
        });
        await step(`its default store is ${c.site.store}`, async () => {
          const wrong = edgeDefaultStoreDefect(c.site, endpoint, stores);
          if (wrong) defect(c, wrong);
        });
        // The API's own flag is checked against where an upload through it lands: its store list, and the rbd image
        // in each site's images pool.
        if (tierAllows(run.tier, "standard")) {
          const bytes = Buffer.alloc(1024 * 1024, 0x5a);
          const up = await step(`upload a 1 MiB raw image through ${endpoint}, naming no store`, () =>
            c.create.uploadedImage("edge-api-upload", bytes, { size: bytes.length, as: { ...c.clients, image: glance } }),
          );
          await step(`the image lands in ${c.site.store} alone, in ${site}'s images pool`, async () => {
            const where = await locateRbdImage(c, "images", up.id);
            await attachJson("upload through the edge API", { endpoint, image: up.id, stores: up.stores, rbd: where });
            const listed = up.stores;
            if (listed.length !== 1 || listed[0] !== c.site.store)
              defect(
                c,
                `an image uploaded through ${site}'s Glance API ${endpoint} without a store lands in store(s) ${listed.join(", ") || "none"}, not ${c.site.store}`,
              );
            if (where.unread.length)
              await notVerified(`where the upload through ${endpoint} is in Ceph`, `${where.unread.join("; ")} could not be read`);
            else if (where.found.join(",") !== site)
              defect(
                c,
                `the rbd image of ${up.id}, uploaded through ${site}'s Glance API ${endpoint}, is in the images pool of ${where.found.join(", ") || "no site"}, not ${site}'s`,
              );
          });
        } else await notVerified(`where an upload through ${endpoint} lands`, `tier ${run.tier} makes no image`);
        const { image, known } = take<EdgeImage>("edge-image");
        // NOTE: Glance reads the first of the image's locations it can open: the bytes show that this API serves the
        // image copied to its store, not which of its stores it read them from.
        const served = await step(`download image ${image.id} through ${endpoint} (GET /v2/images/${image.id}/file), hashing it`, () =>
          downloadDigest(glance, image.id, c.config.timeouts.imageActive * 1000),
        );
        await step("its sha512 is that of the bytes the harness uploaded", async () => {
          await attachJson("hashes", { endpoint, image: image.id, stores: image.stores, harness: known, served: served ?? null });
          const wrong = servedDataDefect(c.site, endpoint, image.id, known, served);
          if (wrong) defect(c, wrong);
        });
      },
    );

    test(
      {
        id: "dcn-4-boot-from-volume",
        title: `4. a volume from the image in AZ ${site} boots a server in AZ ${site}`,
        where: "edge",
        tier: "standard",
        creates: ["volume from the image in the edge AZ", "server booted from it in the edge AZ"],
        holds: { volumes: 1, instances: 1 },
        provides: ["root-volume", "server"],
        needs: ["edge-image"],
      },
      async () => {
        const c = ctx();
        const { image } = take<EdgeImage>("edge-image");
        const vol = await step(`create a ${c.config.volume.sizeGiB} GiB volume from the image in AZ ${c.site.az}`, () =>
          c.create.volume("volume", { imageRef: image.id }),
        );
        give("root-volume", vol.id);
        await step(`the volume is in AZ ${c.site.az}`, async () => {
          if (vol.availability_zone !== c.site.az) defect(c, `volume ${vol.id} is in AZ ${vol.availability_zone}, expected ${c.site.az}`);
        });
        const active = await step(`boot server ${c.name("server")} from the volume in AZ ${c.site.az}`, () =>
          c.create.serverFromVolume("server", vol.id),
        );
        give("server", active.id);
        await attachJson("server", active);
        await attachJson("volume", await c.clients.volume.showVolume(vol.id));
        await step(`the server runs in AZ ${c.site.az} on a host of that AZ`, async () => {
          const az = active["OS-EXT-AZ:availability_zone"];
          const host = active["OS-EXT-SRV-ATTR:host"];
          if (az !== c.site.az) defect(c, `server ${active.id} is in AZ ${az ?? "(not shown)"}, expected ${c.site.az}`);
          // NOTE: a policy that keeps the AZ detail from this user answers 403; the plain list still names the AZs.
          const zones = await c.clients.compute
            .listAvailabilityZones(true)
            .catch((e) => (isApiError(e, 403) ? c.clients.compute.listAvailabilityZones(false) : Promise.reject(e)));
          await attachJson("availability zones (detail)", zones);
          const zone = zones.find((z) => z.zoneName === c.site.az);
          if (!zone) defect(c, `Nova lists no AZ ${c.site.az} (AZs: ${zones.map((z) => z.zoneName).join(", ")})`);
          const unseen = "that the server's host is in the AZ";
          if (!host)
            return notVerified(
              unseen,
              `server ${active.id}'s host is not shown to this user (OS-EXT-SRV-ATTR:host, Nova policy os_compute_api:os-extended-server-attributes)`,
            );
          if (!zone.hosts)
            return notVerified(
              unseen,
              `Nova shows this user no host list for AZ ${c.site.az} (Nova policy os_compute_api:os-availability-zone:detail)`,
            );
          if (!(host in zone.hosts))
            defect(
              c,
              `server ${active.id} runs on host ${host}, which is not in AZ ${c.site.az} (hosts: ${Object.keys(zone.hosts).join(", ") || "none"})`,
            );
        });
      },
    );

    test(
      {
        id: "dcn-5-rbd-parent",
        title: `5. rbd -p volumes ls -l on ${site} shows the volume as a clone of images/<image>@snap`,
        where: "edge",
        tier: "read-only",
        needs: ["root-volume", "edge-image"],
        admin: { why: "image locations are shown to admins only" },
      },
      async () => {
        const c = ctx();
        const volumesPool = sitePools(c.config, c.site).volumes;
        const { image, known } = take<EdgeImage>("edge-image");
        const rbdName = `volume-${take<string>("root-volume")}`;
        const entries = await step(`run rbd -p ${volumesPool} ls -l on ${site}'s cluster`, () =>
          rbdEvidence(c.probe(c.site), volumesPool, `${site} ${volumesPool} pool`),
        );
        await step(`${rbdName} has parent ${imageParent(c, image.id)}`, async () => {
          if (!entries.some((e) => e.image === rbdName)) {
            const { found, unread } = await locateRbdImage(c, "volumes", rbdName);
            const also = unread.length ? `; not looked at: ${unread.join(", ")}` : "";
            defect(
              c,
              found.length
                ? `${rbdName} lives in the Ceph cluster of ${found.join(", ")}, not in ${site}'s${also}`
                : `${rbdName} is in no configured site's volumes pool${also}`,
            );
          }
          assertClone(c, entries, rbdName, image.id);
        });
        await checkData(c, c.site, `${volumesPool}/${rbdName}`, known, { what: "the root volume" });
      },
    );

    test(
      {
        id: "dcn-6-cinder-snapshot",
        title: `6. a Cinder snapshot (force) of the root volume on ${site} is a protected clone of the same parent; the server is stopped for it at the disruptive tier`,
        where: "edge",
        tier: "standard",
        creates: ["Cinder snapshot (force) of the server's root volume (at the disruptive tier the server is stopped, then started)"],
        holds: { snapshots: 1 },
        provides: ["root-snapshot"],
        needs: ["server", "root-volume", "edge-image"],
      },
      async () => {
        const c = ctx();
        const volumesPool = sitePools(c.config, c.site).volumes;
        const [{ image }, volumeId, serverId] = [take<EdgeImage>("edge-image"), take<string>("root-volume"), take<string>("server")];
        const stopped = tierAllows(run.tier, "disruptive");
        if (stopped) {
          await step("stop the server", () => c.clients.compute.stopServer(serverId));
          await c.create.serverStatus(serverId, "SHUTOFF");
        }
        const snap = await step(`snapshot the root volume with force, the server ${stopped ? "stopped" : "running"}`, () =>
          c.create.snapshot("snapshot", volumeId, { force: true }),
        );
        give("root-snapshot", snap.id);
        if (stopped) {
          await step("start the server", () => c.clients.compute.startServer(serverId));
          await c.create.serverStatus(serverId, "ACTIVE");
        }
        const entries = await step(`run rbd -p ${volumesPool} ls -l on ${site}'s cluster`, () =>
          rbdEvidence(c.probe(c.site), volumesPool, `${site} ${volumesPool} pool after the snapshot`),
        );
        await step(`volume-${volumeId}@snapshot-${snap.id} has the same parent and is protected`, async () => {
          const e = assertClone(c, entries, `volume-${volumeId}`, image.id, `snapshot-${snap.id}`);
          if (!e.protected) defect(c, `volume-${volumeId}@snapshot-${snap.id} on ${site} is not protected (PROT is not yes)`);
        });
      },
    );

    test(
      {
        id: "dcn-6b-snapshot-data",
        title: `6b. the snapshot of the root volume on ${site} holds the image's bytes`,
        where: "edge",
        tier: "read-only",
        needs: ["root-snapshot", "root-volume", "edge-image"],
      },
      async () => {
        const c = ctx();
        const volumesPool = sitePools(c.config, c.site).volumes;
        const [{ known }, volumeId, snapshotId] = [
          take<EdgeImage>("edge-image"),
          take<string>("root-volume"),
          take<string>("root-snapshot"),
        ];
        await checkData(c, c.site, `${volumesPool}/volume-${volumeId}@snapshot-${snapshotId}`, known, {
          what: "the root volume's snapshot",
        });
      },
    );

    test(
      {
        id: "dcn-7-back-to-central",
        title: `7. an image made at ${site} comes back to central with the harness's data`,
        where: "edge",
        tier: "standard",
        creates: [
          "server image (and Nova's Cinder snapshot for it)",
          "volume from step 6's snapshot",
          "image uploaded from that volume (edge store, copied to central)",
        ],
        holds: { volumes: 1, snapshots: 1 },
        needs: ["edge-image", "root-snapshot", "server"],
        admin: { why: "copy-image is admin-only" },
      },
      async () => {
        const c = ctx();
        const volumesPool = sitePools(c.config, c.site).volumes;
        const [{ known }, snapshotId, serverId] = [take<EdgeImage>("edge-image"), take<string>("root-snapshot"), take<string>("server")];
        const snapImage = await step(`make an image of server ${c.name("server")}`, async () => {
          const img = await c.create.serverImage("server-snapshot", serverId);
          await attachJson("server image", {
            ...imageEvidence(img),
            block_device_mapping: (img as Record<string, unknown>).block_device_mapping,
          });
          return img;
        });
        const carriesData = (snapImage.size ?? 0) > 0 && snapImage.stores.length > 0;
        if (carriesData) {
          await copyImage(c, snapImage.id, [c.central.store]);
        } else {
          await outcome(
            "7a. the server image of a volume-backed server carries no data",
            `image ${snapImage.id} has size ${snapImage.size ?? 0}, stores [${snapImage.stores.join(", ")}] and a block_device_mapping ` +
              `property: Nova snapshotted the root volume in Cinder instead of uploading disk data, so there is nothing to copy to ${c.central.store}.`,
          );
          await step(`copy-image of that image to ${c.central.store}`, async () => {
            try {
              await c.clients.image.importImage(snapImage.id, { method: "copy-image", stores: [c.central.store] });
            } catch (e) {
              const refusal = copyRefusal(e);
              if (!refusal) throw e;
              await outcome(`7b. Glance refuses to copy it: HTTP ${refusal.status}`, refusal.message);
              return;
            }
            await notVerified(
              "7b. the server image's way back to central",
              `Glance accepted copy-image of image ${snapImage.id} to ${c.central.store} (HTTP 202), though the image carries no ` +
                `data (size ${snapImage.size ?? 0}): such a copy holds nothing of the server's disk to compare; the data's way back is ` +
                `verified below, through an image uploaded from the volume`,
            );
          });
        }

        const fromSnap = await step(`create a volume from step 6's snapshot in AZ ${c.site.az}`, () =>
          c.create.volume("upload-source", { snapshotId }),
        );
        await checkData(c, c.site, `${volumesPool}/volume-${fromSnap.id}`, known, { what: "the volume made from the snapshot" });
        const uploaded = await step(`upload that volume's data to an image (store ${c.site.store})`, () =>
          c.create.volumeImage("volume-upload", fromSnap.id),
        );
        await attachJson("uploaded image", imageEvidence(uploaded));
        await step(`the uploaded image is in store ${c.site.store} only`, async () => {
          if (uploaded.stores.length !== 1 || uploaded.stores[0] !== c.site.store) {
            defect(
              c,
              `the image uploaded from ${site}'s volume is in stores [${uploaded.stores.join(", ")}], expected ${c.site.store} ` +
                `(the volume type needs image_service:store_id=${c.site.store})`,
            );
          }
        });
        await checkData(c, c.site, imageParent(c, uploaded.id), known, { what: "the image uploaded from the volume" });
        const back = await copyImage(c, uploaded.id, [c.central.store]);
        await attachJson("uploaded image after the copy to central", imageEvidence(back));
        await checkLocation(c, back, c.central);
        // NOTE: read whole once, at central (the way back ends there): a second GiB read at the edge proves nothing more.
        await checkData(c, c.central, imageParent(c, back.id, c.central), known, {
          what: "the central copy of the image uploaded from the volume",
          exactBytes: fromSnap.size * 1024 ** 3,
        });
      },
    );
  });
}

export default defineSuite("procedure", procedureSuite);
