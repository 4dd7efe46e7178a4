import { isNoCephAccess, noAccessReason, noneReason } from "../helpers/ceph/probe.ts";
import { checkData } from "../helpers/checks/data.ts";
import { apiRefusal, defect, imageEvidence } from "../helpers/checks/evidence.ts";
import { copyImageWithTimeline } from "../helpers/checks/images.ts";
import {
  createImportImage,
  expectImported,
  importMethodsOff,
  runImport,
  siteOfStore,
  stageImage,
  storeLabel,
  targetStores,
  type WebImage,
  webImage,
} from "../helpers/checks/imports.ts";
import { type Image, locationForStore, parseRbdLocation } from "../helpers/clients/image.ts";
import { sitePools } from "../helpers/config/pools.ts";
import type { Site } from "../helpers/config/schema.ts";
import { importTiming } from "../helpers/config/timing.ts";
import { sha512Of } from "../helpers/core/digest.ts";
import { formatTimeline, waitFor } from "../helpers/core/wait.ts";
import type { SiteContext } from "../helpers/harness/context.ts";
import { classifyFailure, InfrastructureError } from "../helpers/harness/failure-kind.ts";
import { attachJson, attachText, notVerified, step } from "../helpers/harness/steps.ts";
import { defineSuite, type SiteSuite, skipTest } from "../helpers/harness/suite.ts";

function multistoreSuite(s: SiteSuite): void {
  const { ctx, site, give, take } = s;

  /** A test not verified where Glance does not enable an import method its declaration names (imports). */
  const test: SiteSuite["test"] = (declaration, body) =>
    s.test(declaration, async (t) => {
      const off = await importMethodsOff(ctx(), declaration.imports ?? []);
      if (off) return skipTest(t, off);
      return body(t);
    });

  let raw: WebImage | undefined;

  /** The raw image Glance fetches, prepared once for the suite. */
  async function served(c: SiteContext): Promise<WebImage> {
    raw ??= await step("prepare the raw image Glance fetches", async () => {
      const w = (await webImage(c, "raw"))!;
      await attachJson("web-download source", { uri: w.uri, origin: w.origin, bytes: w.rawBytes, sha512: w.rawSha512 });
      return w;
    });
    return raw;
  }

  const edgeStores = (c: SiteContext) => c.config.edges.map((e) => e.store);

  /** The configured site whose cluster backs the store; undefined, reported as not verified, when none does. */
  async function clusterOfStore(c: SiteContext, store: string, what: string) {
    const s = siteOfStore(c, store);
    if (!s) await notVerified(`${what} in store ${store}`, `store ${store} is no configured site's: there is no cluster to look at`);
    return s;
  }

  const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split("\n")[0]!;

  /**
   * Each store's copy of an image on its site's cluster: `<images pool>/<id>@<snap>`, protected. Returns what is
   * missing or unprotected, by site. A store of no configured site, or a site without Ceph access, is not verified;
   * a Ceph error that is not the cluster's answer about the object (a timeout, an unreachable site) is infrastructure.
   */
  async function unprotectedCopies(c: SiteContext, image: string, stores: string[], what: string): Promise<string[]> {
    const { imageSnapshot } = c.config.rbd;
    const lost: string[] = [];
    const unread: { site: string; error: unknown }[] = [];
    for (const store of stores) {
      const s = await clusterOfStore(c, store, `${what}: ${image}@${imageSnapshot}`);
      if (!s) continue;
      const pool = sitePools(c.config, s).images;
      if (!c.hasCeph(s)) {
        await notVerified(`${what}: ${pool}/${image}@${imageSnapshot} on ${s.name}'s cluster`, noAccessReason(noneReason(s)));
        continue;
      }
      try {
        const snaps = await c.probe(s).rbdSnapshots(pool, image);
        if (!snaps.some((x) => x.name === imageSnapshot && x.protected))
          lost.push(`${s.name}: snapshots [${snaps.map((x) => `${x.name}${x.protected ? " (protected)" : ""}`).join(", ")}]`);
      } catch (e) {
        if (isNoCephAccess(e))
          await notVerified(`${what}: ${pool}/${image}@${imageSnapshot} on ${s.name}'s cluster`, noAccessReason(e.reason));
        else if (classifyFailure(e) === "product") lost.push(`${s.name}: ${(e as Error).message.split("\n")[0]}`);
        else unread.push({ site: s.name, error: e });
      }
    }
    await attachJson(`${what}: ${image}@${imageSnapshot}`, {
      lost,
      unread: unread.map((u) => `${u.site}: ${u.error instanceof Error ? u.error.message : String(u.error)}`),
    });
    if (!lost.length && unread.length) {
      if (unread.length === 1) throw unread[0]!.error;
      throw new InfrastructureError(
        `${what}: could not read ${image}@${imageSnapshot} on ${unread.map((u) => `${u.site} (${firstLine(u.error)})`).join("; ")}`,
        { cause: unread[0]!.error },
      );
    }
    return lost.concat(unread.map((u) => `${u.site}: not read (${firstLine(u.error)})`));
  }

  s.describe(`multi-store import at ${site}`, () => {
    test(
      {
        id: "ms-1-web-download-stores",
        title: "web-download to several stores (stores) lands in exactly those stores",
        where: "central",
        tier: "standard",
        creates: ["image by web-download (central and the first edge store)"],
        provides: ["ms-several"],
        imports: ["web-download"],
      },
      async () => {
        const c = ctx();
        const src = await served(c);
        const stores = [c.central.store, edgeStores(c)[0]!];
        const img = await createImportImage(c, "ms-several", "raw");
        const r = await runImport(c, img, "web-download", { stores }, { uri: src.uri, allStoresMustSucceed: true });
        await expectImported(c, r, { sha512: src.rawSha512 });
        give("ms-several", r.image);
      },
    );

    test(
      {
        id: "ms-2-web-download-all-stores",
        title: "web-download to all stores (all_stores, all_stores_must_succeed=true) lands in every store",
        where: "central",
        tier: "standard",
        creates: ["image by web-download (all stores)"],
        provides: ["ms-all"],
        imports: ["web-download"],
      },
      async () => {
        const c = ctx();
        const src = await served(c);
        const img = await createImportImage(c, "ms-all", "raw");
        const r = await runImport(c, img, "web-download", { allStores: true }, { uri: src.uri, allStoresMustSucceed: true });
        const failed = r.image.os_glance_failed_import ?? [];
        if (failed.length) {
          await step("with all_stores_must_succeed=true one failed store fails the whole import", async () => {
            const task = r.wait.value.task;
            const semantics =
              r.image.status === "active"
                ? `yet the image turned active in [${r.image.stores.join(", ")}]: all_stores_must_succeed=true was not honoured`
                : `the image went back to ${r.image.status} with stores [${r.image.stores.join(", ")}], as all_stores_must_succeed=true requires`;
            defect(
              c,
              `image ${r.image.id}: ${failed.map((s) => storeLabel(c, s)).join(", ")} failed the import (os_glance_failed_import)` +
                `${task?.message ? ` (task: ${task.message})` : ""}; ${semantics}`,
            );
          });
        }
        await expectImported(c, r, { sha512: src.rawSha512 });
        give("ms-all", r.image);
      },
    );

    test(
      {
        id: "ms-3-web-download-one-store",
        title: "web-download to one store (X-Image-Meta-Store) lands in that store only",
        where: "central",
        tier: "standard",
        creates: ["image by web-download (the last edge store)"],
        imports: ["web-download"],
      },
      async () => {
        const c = ctx();
        const src = await served(c);
        const store = edgeStores(c).at(-1)!;
        const img = await createImportImage(c, "ms-one", "raw");
        const r = await runImport(c, img, "web-download", { store }, { uri: src.uri });
        await expectImported(c, r, { sha512: src.rawSha512 });
      },
    );

    test(
      {
        id: "ms-4-web-download-default-store",
        title: `web-download without a store lands in the default store (${site}) only`,
        where: "central",
        tier: "standard",
        creates: ["image by web-download (default store)"],
        provides: ["ms-central"],
        imports: ["web-download"],
      },
      async () => {
        const c = ctx();
        const src = await served(c);
        const img = await createImportImage(c, "ms-default", "raw");
        const r = await runImport(c, img, "web-download", { defaultStore: true }, { uri: src.uri });
        await step(`the default store is ${c.central.store}`, async () => {
          if (r.targets[0] !== c.central.store) defect(c, `Glance's default store is ${r.targets[0]}, expected ${c.central.store}`);
        });
        await expectImported(c, r, { sha512: src.rawSha512 });
        give("ms-central", r.image);
      },
    );

    test(
      {
        id: "ms-5-allow-failure",
        title:
          "with all_stores_must_succeed=false the image turns active after the first store, and a failing store shows in os_glance_failed_import",
        where: "central",
        tier: "standard",
        creates: ["image by web-download (all stores, allow failure)"],
        imports: ["web-download"],
      },
      async () => {
        const c = ctx();
        const src = await served(c);
        const img = await createImportImage(c, "ms-allow-failure", "raw");
        const r = await runImport(c, img, "web-download", { allStores: true }, { uri: src.uri, allStoresMustSucceed: false });
        const failed = r.image.os_glance_failed_import ?? [];
        await step("the image turned active in the stores that succeeded", async () => {
          if (r.image.status !== "active") {
            defect(
              c,
              `image ${r.image.id} is ${r.image.status} after an import with all_stores_must_succeed=false; os_glance_failed_import [${failed.join(", ")}]: ` +
                "a failing store must not stop the others",
            );
          }
        });
        await step("no store failed and no store is missing", async () => {
          const ok = r.targets.filter((s) => r.image.stores.includes(s));
          if (failed.length) {
            defect(
              c,
              `image ${r.image.id}: ${failed.map((s) => storeLabel(c, s)).join(", ")} failed the import (os_glance_failed_import)` +
                `${r.wait.value.task?.message ? ` (task: ${r.wait.value.task.message})` : ""}; the image turned active in [${ok.join(", ")}] as allow_failure promises`,
            );
          }
          const missing = r.targets.filter((s) => !r.image.stores.includes(s));
          if (missing.length)
            defect(c, `image ${r.image.id} is active but not in ${missing.join(", ")}, and os_glance_failed_import does not list them`);
        });
      },
    );

    test(
      {
        id: "ms-6-qcow2-conversion",
        title: "a qcow2 imported by web-download ends up raw in every store it lands in (image_conversion)",
        where: "central",
        tier: "standard",
        creates: ["qcow2 image by web-download (central and the first edge store)"],
        imports: ["web-download"],
      },
      async (t) => {
        const c = ctx();
        const src = await step("prepare the qcow2 image Glance fetches", async () => {
          const w = await webImage(c, "qcow2");
          if (w) await attachJson("web-download source", { uri: w.uri, origin: w.origin, rawBytes: w.rawBytes, rawSha512: w.rawSha512 });
          return w;
        });
        if (!src) return skipTest(t, "webDownload.uri is set without webDownload.qcow2Uri: there is no qcow2 image for Glance to fetch");
        const stores = [c.central.store, edgeStores(c)[0]!];
        const img = await createImportImage(c, "ms-qcow2", "qcow2");
        const r = await runImport(c, img, "web-download", { stores }, { uri: src.uri, allStoresMustSucceed: true });
        await step("the image is raw, and its virtual size is the raw data's size", async () => {
          if (r.image.status === "active" && r.image.disk_format === "qcow2") {
            defect(
              c,
              `image ${r.image.id} is still qcow2 in [${r.image.stores.join(", ")}]: Glance's image_conversion import plugin is not enabled ` +
                "([image_import_opts] image_import_plugins = ['image_conversion'], [image_conversion] output_format = raw); Ceph-backed edges need raw images to clone",
            );
          }
          if (r.image.disk_format !== "raw")
            defect(c, `image ${r.image.id} has disk_format ${r.image.disk_format} after the import, expected raw`);
          if (r.image.virtual_size !== src.rawBytes)
            defect(c, `image ${r.image.id} has virtual_size ${r.image.virtual_size}, expected ${src.rawBytes}`);
        });
        await expectImported(c, r);
        const { imageSnapshot } = c.config.rbd;
        const where: Site[] = [];
        for (const store of r.image.stores) {
          const at = await clusterOfStore(c, store, `the content of ${r.image.id}`);
          if (at) where.push(at);
        }
        // The reference is the raw the harness converted itself from the qcow2 it served, never Glance's hash.
        await checkData(
          c,
          where,
          (s) => `${sitePools(c.config, s).images}/${r.image.id}@${imageSnapshot}`,
          { sha512: src.rawSha512, sizeBytes: src.rawBytes },
          {
            what: "the image Glance converted from the harness's qcow2",
            exactBytes: src.rawBytes,
          },
        );
      },
    );

    test(
      {
        id: "ms-7-glance-direct-stores",
        title: "glance-direct (stage, then import) to several stores",
        where: "central",
        tier: "standard",
        creates: ["image by glance-direct (all stores)"],
        imports: ["glance-direct"],
      },
      async (t) => {
        const c = ctx();
        const src = await served(c);
        const stores = [c.central.store, ...edgeStores(c)];
        const path = c.run.web ? `${c.run.web.dir}/${src.uri.split("/").at(-1)}` : undefined;
        if (!path) return skipTest(t, "webDownload.uri is set: the harness has no local copy of the image to stage");
        const img = await createImportImage(c, "ms-direct", "raw");
        const staged = await stageImage(c, img, path);
        await step("the staged image is uploading", async () => {
          const now = await c.clients.image.showImage(img.id);
          if (now.status !== "uploading") defect(c, `image ${img.id} is ${now.status} after staging, expected uploading`);
        });
        const r = await runImport(c, img, "glance-direct", { stores }, { allStoresMustSucceed: true });
        await expectImported(c, r, { sha512: staged.sha512 });
      },
    );

    test(
      {
        id: "ms-8-locations",
        title: "one image id in every store; each location is on its site's cluster, with the configured pool and snapshot",
        where: "central",
        tier: "read-only",
        needs: ["ms-all"],
        admin: { why: "image locations are shown to admins only" },
      },
      async () => {
        const c = ctx();
        const image = await c.clients.image.showImage(take<Image>("ms-all").id);
        await attachJson("image locations", image.locations ?? []);
        const { imageSnapshot } = c.config.rbd;
        for (const store of image.stores) {
          const s = siteOfStore(c, store);
          const imagesPool = s ? sitePools(c.config, s).images : c.config.rbd.imagesPool;
          await step(`the ${store} location is rbd://<${s?.name ?? store} fsid>/${imagesPool}/${image.id}/${imageSnapshot}`, async () => {
            const loc = locationForStore(image, store);
            if (!loc) defect(c, `image ${image.id} is in store ${store} but has no location with metadata.store=${store}`);
            const p = parseRbdLocation(loc.url);
            if (p.image !== image.id)
              defect(c, `the ${store} location ${loc.url} names rbd image ${p.image}, not the image id ${image.id}`);
            if (p.pool !== imagesPool)
              defect(
                c,
                `the ${store} location ${loc.url} is in pool ${p.pool}, expected ${imagesPool} (${s?.ceph.pools?.images ? `${s.name}'s ceph.pools.images` : "rbd.imagesPool"})`,
              );
            if (p.snapshot !== imageSnapshot)
              defect(c, `the ${store} location ${loc.url} names snapshot ${p.snapshot}, expected ${imageSnapshot} (rbd.imageSnapshot)`);
            if (!s)
              return notVerified(
                `the ${store} location's cluster and snapshot`,
                `store ${store} is no configured site's: there is no pinned fsid or cluster to compare ${loc.url} with`,
              );
            // NOTE: the pinned fsid (or the one the run found before its first test) is the reference, never a fresh probe answer.
            const fsid = s.ceph.fsid || c.hasCeph(s) ? c.clusterOf(s) : undefined;
            if (!fsid)
              await notVerified(
                `the fsid of the ${store} location ${loc.url}`,
                `no fsid is pinned for ${s.name}, and ${noAccessReason(noneReason(s))}`,
              );
            else if (p.fsid !== fsid)
              defect(c, `the ${store} location ${loc.url} names Ceph fsid ${p.fsid}, but ${s.name}'s cluster is ${fsid}`);
            if (!c.hasCeph(s))
              return notVerified(`${imagesPool}/${image.id}@${imageSnapshot} on ${s.name}'s cluster`, noAccessReason(noneReason(s)));
            const snaps = await c.probe(s).rbdSnapshots(imagesPool, image.id);
            if (!snaps.some((x) => x.name === imageSnapshot && x.protected))
              defect(c, `${imagesPool}/${image.id}@${imageSnapshot} is missing or unprotected on ${s.name}'s cluster`);
          });
        }
      },
    );

    test(
      {
        id: "ms-9-copy-rejected",
        title: "copy-image to a store that already holds the image is rejected with a clear error",
        where: "central",
        tier: "standard",
        needs: ["ms-all"],
      },
      async () => {
        const c = ctx();
        await step(`copy-image ${take<Image>("ms-all").id} to ${c.central.store}, which holds it`, async () => {
          try {
            await c.clients.image.importImage(take<Image>("ms-all").id, { method: "copy-image", stores: [c.central.store] });
          } catch (e) {
            const refusal = apiRefusal(e);
            if (!refusal) throw e;
            await attachText("Glance's refusal", `HTTP ${refusal.status}: ${refusal.message}`);
            if (refusal.status !== 400 || !/already present/i.test(refusal.message)) {
              defect(
                c,
                `Glance refused the copy with HTTP ${refusal.status} "${refusal.message}", expected 400 "Image is already present at store '${c.central.store}'"`,
              );
            }
            return;
          }
          defect(
            c,
            `Glance accepted copy-image of ${take<Image>("ms-all").id} to ${c.central.store}, which already holds it (expected HTTP 400)`,
          );
        });
      },
    );

    test(
      {
        id: "ms-10-delete-from-store",
        title: "deleting the image from one store removes it there only; it stays usable in the others",
        where: "central",
        tier: "standard",
        needs: ["ms-all"],
        admin: { why: "deleting an image from one store is admin-only" },
      },
      async () => {
        const c = ctx();
        const { image: glance } = c.clients;
        const store = edgeStores(c).at(-1)!;
        const s = siteOfStore(c, store)!;
        const before = await glance.showImage(take<Image>("ms-all").id);
        await step(`DELETE /v2/stores/${store}/${before.id}`, () => glance.deleteImageFromStore(store, before.id));
        const after = await step(`${store} leaves the image's stores`, async () => {
          const r = await waitFor({
            ...importTiming(c.config.timeouts, "deletion"),
            what: `image ${before.id}`,
            expected: `store ${store} gone from stores`,
            poll: () => glance.showImage(before.id),
            done: (i) => !i.stores.includes(store),
            terminal: (i) => (i.status !== "active" ? `image status is ${i.status}` : undefined),
            describe: (i) => `status=${i.status} stores=[${i.stores.join(",")}]`,
          });
          await attachJson("image after the delete", imageEvidence(r.value));
          return r.value;
        });
        await step(`the other stores still hold it: ${before.stores.filter((x) => x !== store).join(", ")}`, async () => {
          const lost = before.stores.filter((x) => x !== store && !after.stores.includes(x));
          if (lost.length) defect(c, `deleting image ${before.id} from ${store} also removed it from ${lost.join(", ")}`);
          if (locationForStore(after, store)) defect(c, `image ${before.id} still has a location in ${store}`);
        });
        const gonePool = sitePools(c.config, s).images;
        if (!c.hasCeph(s)) await notVerified(`${gonePool}/${before.id} is gone from ${s.name}'s cluster`, noAccessReason(noneReason(s)));
        else
          await step(`rbd on ${s.name}: ${gonePool}/${before.id} is gone`, async () => {
            const list = await c.probe(s).rbdList(gonePool);
            if (list.some((e) => e.image === before.id))
              defect(c, `${gonePool}/${before.id} is still in ${s.name}'s cluster after the delete from store ${store}`);
          });
        await step(
          `rbd: ${before.id}@${c.config.rbd.imageSnapshot} is still there, protected, in the images pools of ${after.stores.join(", ")}`,
          async () => {
            const lost = await unprotectedCopies(c, before.id, after.stores, "the copies that stay");
            if (lost.length)
              defect(
                c,
                `after the delete of image ${before.id} from store ${store}, ${before.id}@${c.config.rbd.imageSnapshot} is gone or unprotected on ${lost.join("; ")}`,
              );
          },
        );
        await step("the image still downloads whole: its sha512 is os_hash_value", async () => {
          const data = await glance.downloadImageData(before.id, { timeoutMs: c.config.timeouts.imageActive * 1000 });
          if (!data) defect(c, `image ${before.id} returned no data after the delete from ${store}`);
          const { sha512: sha } = await sha512Of(data);
          if (sha !== after.os_hash_value)
            defect(c, `image ${before.id} downloads with sha512 ${sha}, not its os_hash_value ${after.os_hash_value}`);
        });
      },
    );

    test(
      {
        id: "ms-11-copy-all-stores",
        title: "copy-image with all_stores copies to the stores that lack the image and skips those that hold it",
        where: "central",
        tier: "standard",
        needs: ["ms-several"],
        admin: { why: "copy-image is admin-only" },
      },
      async (t) => {
        const c = ctx();
        const before = await c.clients.image.showImage(take<Image>("ms-several").id);
        const all = await targetStores(c, { allStores: true });
        const held = before.stores;
        const lacking = all.filter((x) => !held.includes(x));
        if (!lacking.length)
          return skipTest(
            t,
            `image ${before.id} is already in every store (${all.join(", ")}): with ${c.config.edges.length} edge(s) there is nothing for copy-image all_stores to copy`,
          );
        // NOTE: the waiter has already required every store in the image's stores, with none left importing or failed.
        const r = await copyImageWithTimeline(c, before.id, all, { allStores: true });
        await step(`the stores that held it (${held.join(", ")}) were skipped`, async () => {
          await attachText("copy timeline", formatTimeline(r.timeline));
          const copied = new Set(r.timeline.flatMap((p) => /importing=\[([^\]]*)\]/.exec(p.state)?.[1]?.split(",").filter(Boolean) ?? []));
          const recopied = held.filter((x) => copied.has(x));
          if (recopied.length)
            defect(
              c,
              `copy-image all_stores listed ${recopied.join(", ")} in os_glance_importing_to_stores, though the image was already there`,
            );
        });
        await step(
          `rbd: each new copy ${before.id}@${c.config.rbd.imageSnapshot} exists, protected, on ${lacking.join(", ")}`,
          async () => {
            const lost = await unprotectedCopies(c, before.id, lacking, "the new copies");
            if (lost.length)
              defect(
                c,
                `Glance lists stores ${lacking.join(", ")} for image ${before.id} after copy-image all_stores, but ${before.id}@${c.config.rbd.imageSnapshot} is missing or unprotected on ${lost.join("; ")}`,
              );
          },
        );
      },
    );

    test(
      {
        id: "ms-12-copy-named-stores",
        title: "copy-image to named stores adds exactly those stores",
        where: "central",
        tier: "standard",
        needs: ["ms-central"],
        admin: { why: "copy-image is admin-only" },
      },
      async () => {
        const c = ctx();
        const stores = edgeStores(c);
        const id = take<Image>("ms-central").id;
        const r = await copyImageWithTimeline(c, id, stores);
        await step(`stores are exactly ${[c.central.store, ...stores].join(", ")}`, async () => {
          const want = new Set([c.central.store, ...stores]);
          const got = r.value.image.stores;
          if (got.length !== want.size || !got.every((x) => want.has(x)))
            defect(c, `image ${id} is in [${got.join(", ")}], expected [${[...want].join(", ")}]`);
        });
        await step(`rbd: each new copy ${id}@${c.config.rbd.imageSnapshot} exists, protected, on ${stores.join(", ")}`, async () => {
          const lost = await unprotectedCopies(c, id, stores, "the new copies");
          if (lost.length)
            defect(
              c,
              `Glance lists stores ${stores.join(", ")} for image ${id} after copy-image, but ${id}@${c.config.rbd.imageSnapshot} is missing or unprotected on ${lost.join("; ")}`,
            );
        });
      },
    );
  });
}

export default defineSuite("multistore", multistoreSuite);
