import type { Image } from "../helpers/clients/image.ts";
import { judgeCopyOrder } from "../helpers/checks/copy-order.ts";
import { runIdOf } from "../helpers/cleanup.ts";
import { upHosts } from "../helpers/clients/compute.ts";
import { poolsInAz, rbdBackendTarget } from "../helpers/clients/volume.ts";
import { parentSpec } from "../helpers/ceph/rbd.ts";
import { defect, imageEvidence, waitVolume } from "../helpers/dcn.ts";
import { isApiError } from "../helpers/http.ts";
import { createImportImage, storeLabel } from "../helpers/multistore.ts";
import type { SiteContext } from "../helpers/run-context.ts";
import { attachJson, notVerified, outcome, step, warning } from "../helpers/steps.ts";
import { timing, waitForImageStatus } from "../helpers/waiters.ts";
import { procedureTest, skipTest } from "./support.ts";

/** Whether the run made this resource: its run-id property, or the run id in its name. */
function ownedByRun(c: SiteContext, r: { name?: string | null; [k: string]: unknown }): boolean {
  return r.dcn_verify_run === c.run.runId || runIdOf(r.name, c.config.naming.prefix) === c.run.runId;
}

/**
 * The images a rule judges: every active image in the site's store that this run did not make.
 * NOTE: the run's own images (the procedure's, conformance's at this site, multi-store's at central)
 * come and go while the rules look; they are left out by the run's mark, never by timing.
 */
async function imagesInStore(c: SiteContext): Promise<{ judged: Image[]; skipped: Image[] }> {
  const all = await c.clients.image.listImages({ limit: 200 });
  const inStore = all.filter((i) => i.stores.includes(c.site.store));
  const judged = inStore.filter((i) => i.status === "active" && !ownedByRun(c, i));
  const skipped = inStore.filter((i) => !judged.includes(i));
  await attachJson(`images in store ${c.site.store}`, {
    judged: judged.map((i) => ({ id: i.id, name: i.name, stores: i.stores, disk_format: i.disk_format })),
    notJudged: skipped.map((i) => ({ id: i.id, name: i.name, status: i.status, why: ownedByRun(c, i) ? "made by this run" : `status ${i.status}` })),
  });
  return { judged, skipped };
}

const listed = <T extends { id: string; name: string | null }>(images: T[], why: (i: T) => string) =>
  images.slice(0, 10).map((i) => `${i.id} (${i.name ?? "no name"})${why(i)}`).join("; ") + (images.length > 10 ? `; and ${images.length - 10} more` : "");

/** The DCN architecture rules, checked for one edge site after its procedure ran. */
export function edgeRules(site: string, ctx: () => SiteContext): void {
  procedureTest(site, "rule-1-same-names", `rule: ${site}'s Nova AZ, Cinder AZ and Glance store share one name, and its Cinder backend writes to ${site}'s cluster`, {}, async () => {
    const c = ctx();
    const { az, store, name } = c.site;
    await step(`the configured AZ (${az}) and store (${store}) carry one name`, async () => {
      if (az !== store) defect(c, `site ${name} has AZ ${az} and Glance store ${store}: DCN names each site's AZ and store alike`);
    });
    await step(`Nova has AZ ${az} with an enabled compute host`, async () => {
      const zones = await c.clients.compute.listAvailabilityZones(true);
      await attachJson("Nova availability zones", zones);
      const z = zones.find((x) => x.zoneName === az);
      if (!z || upHosts(z).length === 0) defect(c, `Nova has no AZ ${az} with an enabled, up compute host (AZs: ${zones.map((x) => x.zoneName).join(", ")})`);
    });
    await step(`Cinder has AZ ${az}, available`, async () => {
      const zones = await c.clients.volume.listAvailabilityZones();
      await attachJson("Cinder availability zones", zones);
      if (!zones.some((z) => z.zoneName === az && z.zoneState.available)) defect(c, `Cinder has no available AZ ${az} (AZs: ${zones.map((z) => `${z.zoneName}${z.zoneState.available ? "" : " (unavailable)"}`).join(", ")})`);
    });
    await step(`Glance has store ${store}`, async () => {
      const stores = await c.clients.image.listStores();
      if (!stores.some((s) => s.id === store)) defect(c, `Glance has no store ${store} (stores: ${stores.map((s) => s.id).join(", ")})`);
    });
    await step(`the Cinder backends of AZ ${az} write to ${name}'s Ceph cluster`, async () => {
      const [services, pools, fsid] = await Promise.all([c.clients.volume.listServices({ binary: "cinder-volume" }), c.clients.volume.listBackendPools(), c.probe(c.site).fsid()]);
      const mine = poolsInAz(services, pools, az);
      await attachJson(`Cinder backends in AZ ${az}`, mine.map((p) => ({ name: p.name, backend: p.capabilities?.volume_backend_name, target: rbdBackendTarget(p), state: p.capabilities?.backend_state })));
      if (mine.length === 0) defect(c, `no Cinder backend pool is in AZ ${az} (cinder-volume services there: ${services.filter((s) => s.zone === az).map((s) => s.host).join(", ") || "none"})`);
      const wrong = mine.filter((p) => rbdBackendTarget(p)?.fsid !== fsid);
      if (wrong.length) {
        defect(c, `Cinder backend ${wrong.map((p) => `${p.name} writes to ${rbdBackendTarget(p)?.fsid ? `Ceph fsid ${rbdBackendTarget(p)!.fsid}` : "no RBD cluster it reports"}`).join(", ")}, ` +
          `but AZ ${az} is ${name}, whose cluster is ${fsid}`);
      }
    });
  });

  procedureTest(site, "rule-2-edge-images-in-central", `rule: every image in store ${site} also has a copy in the central store`, {}, async () => {
    const c = ctx();
    const { judged } = await step(`list the images in store ${c.site.store}`, () => imagesInStore(c));
    await step(`each of the ${judged.length} is also in ${c.central.store}`, async () => {
      const orphans = judged.filter((i) => !i.stores.includes(c.central.store));
      if (orphans.length) {
        defect(c, `${orphans.length} image(s) in ${storeLabel(c, c.site.store)} have no copy in ${c.central.store}: ` +
          `${listed(orphans, (i) => ` stores [${i.stores.join(", ")}]`)}; copy them to ${c.central.store} with copy-image`);
      }
    });
  });

  procedureTest(site, "rule-3-edge-images-raw", `rule: the images used at ${site} are raw`, {}, async () => {
    const c = ctx();
    const { judged } = await step(`list the images in store ${c.site.store}`, () => imagesInStore(c));
    await step(`each of the ${judged.length} has disk_format raw`, async () => {
      const notRaw = judged.filter((i) => i.disk_format !== "raw");
      if (notRaw.length) {
        defect(c, `${notRaw.length} image(s) in ${storeLabel(c, c.site.store)} are not raw, so Cinder cannot clone them and copies them whole: ` +
          `${listed(notRaw, (i) => ` disk_format ${i.disk_format}`)}`);
      }
    });
  });

  procedureTest(site, "rule-4-edge-upload-to-central-first", `rule: an image uploaded at ${site} went to central before any other edge`, {}, async (t) => {
    const c = ctx();
    const { judged } = await step(`list the images in store ${c.site.store}`, () => imagesInStore(c));
    const others = new Set(c.config.edges.map((e) => e.store).filter((s) => s !== c.site.store));
    const violations: { id: string; name: string | null; order: string }[] = [];
    const unknown: { id: string; name: string | null; reason: string }[] = [];
    let verified = 0;
    await step(`read the import tasks of the ${judged.length} image(s): where each came from, and the order of its copies`, async () => {
      const history: Record<string, unknown> = {};
      for (const img of judged) {
        const tasks = await c.clients.image.listImageTasks(img.id);
        const v = judgeCopyOrder(img.stores, tasks, { edge: c.site.store, central: c.central.store, otherEdges: others });
        history[img.id] = { name: img.name, stores: img.stores, verdict: v };
        if (v.kind === "unknown") unknown.push({ id: img.id, name: img.name, reason: v.reason });
        if (v.kind === "edge-first") violations.push({ id: img.id, name: img.name, order: v.order.join(" -> ") });
        if (v.kind === "central-first" || v.kind === "edge-first") verified++;
      }
      await attachJson("origin and copy order per image", history);
    });
    await step(`each image uploaded at ${site} reached ${c.central.store} before another edge`, async () => {
      if (violations.length) {
        defect(c, `${violations.length} image(s) uploaded at ${site} were copied to another edge before ${c.central.store}: ` +
          `${listed(violations, (i) => ` ${i.order}`)}; copy an edge image to ${c.central.store} first`);
      }
    });
    if (unknown.length) {
      const detail = listed(unknown, (i) => `: ${i.reason}`);
      if (verified === 0) return skipTest(t, `not verified: the copy order of ${unknown.length} image(s) uploaded at ${site} cannot be told: ${detail}`);
      await notVerified(`the copy order of ${unknown.length} image(s) uploaded at ${site}`, detail);
    }
  });

  procedureTest(site, "rule-5-image-local-before-use", `rule: a volume at ${site} is made from an image local to ${site}, never pulled whole from central`, {}, async () => {
    const c = ctx();
    const { imagesPool, volumesPool, imageSnapshot } = c.config.rbd;
    await step(`every image-backed volume in AZ ${c.site.az} is a copy-on-write clone on ${site}'s cluster`, async () => {
      const [volumes, entries] = await Promise.all([
        c.clients.volume.listVolumes({ all_tenants: "1", availability_zone: c.site.az }),
        c.probe(c.site).rbdList(volumesPool),
      ]);
      const fromImage = volumes.filter((v) => v.availability_zone === c.site.az && typeof v.volume_image_metadata?.image_id === "string" && !v.snapshot_id && !v.source_volid && !ownedByRun(c, v));
      const full: { id: string; name: string | null; image: string }[] = [];
      for (const v of fromImage) {
        const e = entries.find((x) => x.image === `volume-${v.id}` && !x.snapshot);
        if (e && !e.parent) full.push({ id: v.id, name: v.name, image: String(v.volume_image_metadata!.image_id) });
      }
      await attachJson(`image-backed volumes in AZ ${c.site.az}`, fromImage.map((v) => {
        const e = entries.find((x) => x.image === `volume-${v.id}` && !x.snapshot);
        return { id: v.id, name: v.name, image: v.volume_image_metadata?.image_id, rbd: e ? (e.parent ? parentSpec(e.parent) : "no parent (full copy)") : `not in ${site}'s ${volumesPool} pool` };
      }));
      if (full.length) {
        defect(c, `${full.length} volume(s) in AZ ${c.site.az} were made from an image but are full copies (no rbd parent on ${site}'s cluster), ` +
          `so the image was pulled whole instead of cloned locally: ${listed(full, (v) => ` from image ${v.image}`)}`);
      }
    });

    const remote = await step(`upload a small raw image to ${c.central.store} only`, async () => {
      const img = await createImportImage(c, "rule-remote", "raw");
      await c.clients.image.uploadImageData(img.id, Buffer.alloc(1024 * 1024, 7), { store: c.central.store, size: 1024 * 1024 });
      const r = await waitForImageStatus(c.clients.image, img.id, "active", timing(c.config.timeouts, "imageActive"));
      await attachJson("central-only image", imageEvidence(r.value));
      return r.value;
    });
    const vol = await step(`create a volume from it in AZ ${c.site.az}, where the image is not`, async () => {
      try {
        const v = await c.clients.volume.createVolume({ size: c.config.volume.sizeGiB, name: c.name("rule-remote-volume"), imageRef: remote.id, availability_zone: c.site.az, ...(c.site.volumeType ? { volume_type: c.site.volumeType } : {}) });
        c.tracker.track({ kind: "volume", id: v.id, name: c.name("rule-remote-volume"), site });
        return { id: v.id, refused: undefined };
      } catch (e) {
        if (isApiError(e) && e.status !== undefined && e.status >= 400 && e.status < 500) return { id: undefined, refused: `HTTP ${e.status}: ${e.message}` };
        throw e;
      }
    });
    if (vol.id === undefined) {
      await outcome(`the cloud refuses a volume at ${site} from an image not in store ${c.site.store}`, vol.refused ?? "");
      return;
    }
    const settled = await step("wait until the volume is available or in error", async () => {
      try {
        await waitVolume(c, vol.id, "available");
        return "available";
      } catch (e) {
        if (/volume status is error/.test((e as Error).message)) return "error";
        throw e;
      }
    });
    if (settled === "error") {
      await outcome(`Cinder refused to build the volume at ${site} (status error)`, `volume ${vol.id} from image ${remote.id}, which is only in ${c.central.store}`);
      return;
    }
    await step(`how the volume was built on ${site}'s cluster`, async () => {
      const e = (await c.probe(c.site).rbdList(volumesPool)).find((x) => x.image === `volume-${vol.id}` && !x.snapshot);
      if (!e) defect(c, `volume ${vol.id} built in AZ ${c.site.az} is not in ${site}'s ${volumesPool} pool`);
      if (e.parent) {
        const p = parentSpec(e.parent);
        if (p === `${imagesPool}/${String(remote.id)}@${imageSnapshot}`) defect(c, `volume ${vol.id} clones ${p} on ${site}'s cluster, yet Glance does not list store ${c.site.store} for image ${remote.id}`);
        defect(c, `volume ${vol.id} from image ${remote.id} has an unexpected parent ${p}`);
      }
      await warning(
        `Cinder pulled image ${remote.id} whole from ${c.central.store} to build a volume at ${site}`,
        `volume-${vol.id} on ${site}'s cluster has no rbd parent: this cloud does not stop a volume being made at an edge from an image that is not in the edge's store. ` +
          `Copy images to ${c.site.store} (copy-image) before creating volumes or servers there; rule-5's audit above catches volumes made the other way.`,
      );
    });
  });
}
