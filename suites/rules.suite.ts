import { isNoCephAccess, noAccessReason } from "../helpers/ceph/probe.ts";
import { parentSpec } from "../helpers/ceph/rbd.ts";
import { siteBackends, siteZones } from "../helpers/checks/backends.ts";
import { judgeCopyOrder } from "../helpers/checks/copy-order.ts";
import { apiRefusal, defect, imageEvidence, listed, locateRbdImage } from "../helpers/checks/evidence.ts";
import { sitePools } from "../helpers/config/pools.ts";
import { auditImageVolumes } from "../helpers/checks/volume-audit.ts";
import { storeLabel } from "../helpers/checks/imports.ts";
import { storeCluster } from "../helpers/clients/store-cluster.ts";
import type { Image } from "../helpers/clients/image.ts";
import type { SiteContext } from "../helpers/harness/context.ts";
import { byThisRun, madeByHarness } from "../helpers/harness/naming.ts";
import { attachJson, info, notVerified, step } from "../helpers/harness/steps.ts";
import { defineSuite, type SiteSuite, skipTest } from "../helpers/harness/suite.ts";

function rulesSuite(s: SiteSuite): void {
  const { ctx, site, test } = s;

  /** What a rule at the site sees in its store: the operator's active images, which it judges, and what it does not judge. */
  interface StoreImages {
    judged: Image[];
    /** The operator's images in the store that are not active: not verified. */
    notActive: Image[];
    /** Made by dcn-verify (this run, another run, a canary set): never the operator's. */
    leftOut: { id: string; name: string | null; by: string }[];
  }

  /**
   * The images a rule judges: every active image in the site's store that no dcn-verify run or canary set made,
   * hidden ones (os_hidden) too. Another run's or a canary set's are reported as information, the operator's
   * images that are not active as not verified.
   * NOTE: the images of this run and of others running beside it (the procedure's, conformance's, multi-store's, a
   * canary plant's) come and go while the rules look; they are left out by their mark or harness name, never by timing.
   */
  async function imagesInStore(c: SiteContext): Promise<StoreImages> {
    // NOTE: Glance leaves os_hidden images out of a listing unless asked with os_hidden=true, which lists only them.
    const [shown, hidden] = await Promise.all([
      c.clients.image.listImages({ limit: 200 }),
      c.clients.image.listImages({ limit: 200, os_hidden: "true" }),
    ]);
    const all = [...shown, ...hidden.filter((h) => !shown.some((i) => i.id === h.id))];
    const s: StoreImages = { judged: [], notActive: [], leftOut: [] };
    for (const i of all.filter((x) => x.stores.includes(c.site.store))) {
      const by = madeBy(c, i);
      if (by) s.leftOut.push({ id: i.id, name: i.name, by });
      else if (i.status !== "active") s.notActive.push(i);
      else s.judged.push(i);
    }
    await attachJson(`images in store ${c.site.store}`, {
      judged: s.judged.map((i) => ({ id: i.id, name: i.name, stores: i.stores, disk_format: i.disk_format, os_hidden: i.os_hidden })),
      notJudged: [
        ...s.leftOut.map((i) => ({ ...i, why: `made by ${i.by}` })),
        ...s.notActive.map((i) => ({ id: i.id, name: i.name, status: i.status, why: `status ${i.status}` })),
      ],
    });
    await reportLeftOut(`image(s) in ${storeLabel(c, c.site.store)}`, s.leftOut);
    if (s.notActive.length)
      await notVerified(
        `${s.notActive.length} image(s) in ${storeLabel(c, c.site.store)} that are not active`,
        `${listed(s.notActive, (i) => ` status ${i.status}`)}: the rules judge active images only (an image that is not active can be neither copied nor used); run again once they are active`,
      );
    return s;
  }

  /** Why a rule has nothing to judge in the site's store: not verified, never a pass. */
  const nothingInStore = (c: SiteContext, s: StoreImages) =>
    `not verified: ${storeLabel(c, c.site.store)} holds no active image the operator made, so there is nothing to judge` +
    ` (${s.leftOut.length} left out as dcn-verify's, ${s.notActive.length} not active)`;

  /** Which dcn-verify run or canary set made a resource (this run included), or undefined for the operator's. */
  const madeBy = (c: SiteContext, r: { name?: string | null; [k: string]: unknown }) => madeByHarness(r, c.run, c.config.naming.prefix);

  /** What another dcn-verify run or a canary set made, as information, one line per maker; this run's own stays in the evidence. */
  async function reportLeftOut(what: string, leftOut: { id: string; name: string | null; by: string }[]): Promise<void> {
    const byMaker = new Map<string, typeof leftOut>();
    for (const r of leftOut.filter((x) => !byThisRun(x.by))) byMaker.set(r.by, [...(byMaker.get(r.by) ?? []), r]);
    for (const [by, items] of byMaker)
      await info(
        `left out: made by ${by}: ${items.length} ${what}`,
        `${listed(items, () => "")}: not the operator's (its dcn-verify mark or harness name says so), so no rule judges it`,
      );
  }

  /** The site's cluster: its pinned fsid, else the one its probe found before the first test; or why neither is known. */
  function ownCluster(c: SiteContext): { fsid: string } | { why: string } {
    try {
      return { fsid: c.clusterOf(c.site) };
    } catch (e) {
      if (!isNoCephAccess(e)) throw e;
      return { why: `${c.site.name}'s cluster is unknown: no ceph.fsid is pinned and ${noAccessReason(e.reason)}` };
    }
  }

  /** The DCN architecture rules, checked at each edge site against what the operator made there. */
  s.describe(`DCN edge rules at ${site}`, () => {
    test(
      {
        id: "rule-1-same-names",
        title: `rule: ${site}'s Nova AZ and Cinder AZ carry one name, and its Glance store and Cinder backends write to ${site}'s own cluster`,
        where: "edge",
        tier: "read-only",
      },
      async () => {
        const c = ctx();
        const { az, store, name } = c.site;
        const zones = await step(`Nova has AZ ${az} with an enabled compute host`, async () => {
          const z = await siteZones(c);
          if (!z.upHosts.length)
            defect(c, `Nova has no AZ ${az} with an enabled, up compute host (AZs: ${z.nova.map((x) => x.zoneName).join(", ")})`);
          return z;
        });
        await step(`Cinder has AZ ${az}, available`, async () => {
          if (!zones.cinderZone?.zoneState.available) {
            defect(
              c,
              `Cinder has no available AZ ${az} (AZs: ${zones.cinder.map((z) => `${z.zoneName}${z.zoneState.available ? "" : " (unavailable)"}`).join(", ")})`,
            );
          }
        });
        await step(`Glance has store ${store}`, async () => {
          const stores = await c.clients.image.listStores();
          if (!stores.some((s) => s.id === store))
            defect(c, `Glance has no store ${store} (stores: ${stores.map((s) => s.id).join(", ")})`);
        });
        const own = ownCluster(c);
        if ("why" in own) await notVerified(`the Cinder backends of AZ ${az} write to ${name}'s Ceph cluster`, own.why);
        else
          await step(`the Cinder backends of AZ ${az} write to ${name}'s Ceph cluster`, async () => {
            const b = await siteBackends(c);
            if (b.backends.length === 0)
              defect(
                c,
                `no Cinder backend pool is in AZ ${az} (cinder-volume services there: ${b.services.map((s) => s.host).join(", ") || "none"})`,
              );
            if (b.elsewhere.length) {
              defect(
                c,
                `Cinder backend ${b.elsewhere.map((p) => `${p.pool} writes to ${p.fsid ? `Ceph fsid ${p.fsid}` : "no RBD cluster it reports"}`).join(", ")}, ` +
                  `but AZ ${az} is ${name}, whose cluster is ${b.fsid}`,
              );
            }
          });
        const where = await step(`find the Ceph cluster Glance store ${store} writes to`, async () => {
          // NOTE: Glance's stores detail connects to every store's cluster; one that does not answer holds glance-api for its timeout.
          const detail = c.sites.some((s) => c.unreachable(s.name))
            ? undefined
            : await c.clients.image.listStoresDetail().catch(() => undefined);
          // NOTE: runs' own images come and go while this looks (another run's cleanup, this run's steps): only the
          // operator's images name the store's cluster here.
          const images = (await c.clients.image.listImages({ limit: 200 })).filter((i) => !madeBy(c, i));
          const r = storeCluster(store, detail, images);
          await attachJson(`the cluster of store ${store}`, r);
          return r;
        });
        if (where.kind === "not-rbd")
          defect(c, `Glance store ${store} is a ${where.type} store: DCN keeps each site's images on its own Ceph cluster (rbd)`);
        if (where.kind === "unknown") return notVerified(`Glance store ${store} writes to ${name}'s own Ceph cluster`, where.why);
        if ("why" in own)
          return notVerified(`Glance store ${store} (on Ceph fsid ${where.fsid}) writes to ${name}'s own Ceph cluster`, own.why);
        await step(`Glance store ${store} writes to ${name}'s own Ceph cluster (${own.fsid})`, async () => {
          if (where.fsid === own.fsid) return;
          const owner = c.sites.find((s) => s !== c.site && s.ceph.fsid === where.fsid);
          defect(
            c,
            `Glance store ${store} writes to Ceph fsid ${where.fsid}${owner ? ` (${owner.name}'s cluster)` : ""} (${where.from}), but ${name}'s cluster is ${own.fsid}`,
          );
        });
        // The location is Glance's own record: the rbd image it names is looked for in every site's images pool.
        const image = where.image;
        if (!image) return;
        await step(`the rbd image of ${image} (in store ${store}) is in ${name}'s images pool`, async () => {
          const found = await locateRbdImage(c, "images", image);
          await attachJson(`rbd image ${image} by site`, found);
          if (!found.found.includes(name)) {
            if (found.unread.some((u) => u.startsWith(`${name} `)))
              return notVerified(`the rbd image of ${image} is in ${name}'s images pool`, found.unread.join("; "));
            const now = await c.clients.image.showImage(image).catch(() => undefined);
            if (!now || now.status !== "active" || !now.stores.includes(store))
              return notVerified(
                `the rbd image of ${image} is in ${name}'s images pool`,
                `image ${image} left store ${store} while it was looked for (now ${now ? `${now.status} in ${now.stores.join(", ") || "no store"}` : "gone"})`,
              );
            defect(
              c,
              `image ${image}'s location in store ${store} names ${name}'s cluster, but its rbd image is not in ${name}'s images pool (found at: ${found.found.join(", ") || "no site"})`,
            );
          }
        });
      },
    );

    test(
      {
        id: "rule-2-edge-images-in-central",
        title: `rule: every image in store ${site} also has a copy in the central store`,
        where: "edge",
        tier: "read-only",
      },
      async (t) => {
        const c = ctx();
        const inStore = await step(`list the images in store ${c.site.store}`, () => imagesInStore(c));
        const { judged } = inStore;
        if (!judged.length) return skipTest(t, nothingInStore(c, inStore));
        await step(`each of the ${judged.length} is also in ${c.central.store}`, async () => {
          const orphans = judged.filter((i) => !i.stores.includes(c.central.store));
          if (orphans.length) {
            defect(
              c,
              `${orphans.length} image(s) in ${storeLabel(c, c.site.store)} have no copy in ${c.central.store}: ` +
                `${listed(orphans, (i) => ` stores [${i.stores.join(", ")}]`)}; copy them to ${c.central.store} with copy-image`,
            );
          }
        });
      },
    );

    test(
      { id: "rule-3-edge-images-raw", title: `rule: the images used at ${site} are raw`, where: "edge", tier: "read-only" },
      async (t) => {
        const c = ctx();
        const inStore = await step(`list the images in store ${c.site.store}`, () => imagesInStore(c));
        const { judged } = inStore;
        if (!judged.length) return skipTest(t, nothingInStore(c, inStore));
        await step(`each of the ${judged.length} has disk_format raw`, async () => {
          const notRaw = judged.filter((i) => i.disk_format !== "raw");
          if (notRaw.length) {
            defect(
              c,
              `${notRaw.length} image(s) in ${storeLabel(c, c.site.store)} are not raw, so Cinder cannot clone them and copies them whole: ` +
                `${listed(notRaw, (i) => ` disk_format ${i.disk_format}`)}`,
            );
          }
        });
      },
    );

    test(
      {
        id: "rule-4-edge-upload-to-central-first",
        title: `rule: an image uploaded at ${site} went to central before any other edge`,
        where: "edge",
        tier: "read-only",
      },
      async (t) => {
        const c = ctx();
        const inStore = await step(`list the images in store ${c.site.store}`, () => imagesInStore(c));
        const { judged } = inStore;
        if (!judged.length) return skipTest(t, nothingInStore(c, inStore));
        const others = new Set(c.config.edges.map((e) => e.store).filter((s) => s !== c.site.store));
        const violations: { id: string; name: string | null; order: string }[] = [];
        const unknown: { id: string; name: string | null; reason: string }[] = [];
        let verified = 0;
        await step(
          `read the import tasks of the ${judged.length} image(s): where each came from, and the order of its copies`,
          async () => {
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
          },
        );
        await step(`each image uploaded at ${site} reached ${c.central.store} before another edge`, async () => {
          if (violations.length) {
            defect(
              c,
              `${violations.length} image(s) uploaded at ${site} were copied to another edge before ${c.central.store}: ` +
                `${listed(violations, (i) => ` ${i.order}`)}; copy an edge image to ${c.central.store} first`,
            );
          }
        });
        if (unknown.length) {
          const detail = listed(unknown, (i) => `: ${i.reason}`);
          if (verified === 0)
            return skipTest(t, `not verified: the copy order of ${unknown.length} image(s) uploaded at ${site} cannot be told: ${detail}`);
          await notVerified(`the copy order of ${unknown.length} image(s) uploaded at ${site}`, detail);
        }
        if (verified === 0)
          return skipTest(
            t,
            `not verified: none of the ${judged.length} image(s) the operator has in ${storeLabel(c, c.site.store)} was uploaded at ${site} ` +
              `(each came from ${c.central.store} or was imported to several stores at once), so there is no copy order to judge`,
          );
      },
    );

    test(
      {
        id: "rule-5-image-local-before-use",
        title: `rule: a volume at ${site} is made from an image local to ${site}, never pulled whole from central`,
        where: "edge",
        tier: "standard",
        creates: ["image (1 MiB raw, central store only)", "volume from it in the edge AZ"],
        holds: { volumes: 1 },
      },
      async () => {
        const c = ctx();
        const { imageSnapshot } = c.config.rbd;
        const { images: imagesPool, volumes: volumesPool } = sitePools(c.config, c.site);
        const max = c.config.conformance.maxImagesChecked;
        await step(`every image-backed volume in AZ ${c.site.az} is a copy-on-write clone on ${site}'s cluster`, async () => {
          const [volumes, entries] = await Promise.all([
            c.clients.volume.listVolumes({ all_tenants: "1", availability_zone: c.site.az }),
            c.probe(c.site).rbdList(volumesPool),
          ]);
          const fromImage = volumes.filter(
            (v) =>
              v.availability_zone === c.site.az &&
              typeof v.volume_image_metadata?.image_id === "string" &&
              !v.snapshot_id &&
              !v.source_volid,
          );
          const a = auditImageVolumes(fromImage, entries, { imagesPool, imageSnapshot, max, madeBy: (v) => madeBy(c, v) });
          await reportLeftOut(`image-backed volume(s) in AZ ${c.site.az}`, a.leftOut);
          const operators = fromImage.length - a.leftOut.length;
          const elsewhere: Record<string, Awaited<ReturnType<typeof locateRbdImage>>> = {};
          for (const v of a.missing) elsewhere[v.id] = await locateRbdImage(c, "volumes", `volume-${v.id}`);
          await attachJson(`image-backed volumes in AZ ${c.site.az}: rbd in ${site}'s ${volumesPool} pool`, a);
          if (a.unchecked.length)
            await notVerified(
              `how ${a.unchecked.length} of ${operators} image-backed volume(s) in AZ ${c.site.az} were built`,
              `conformance.maxImagesChecked (${max}) bounds the volumes judged: ${listed(a.unchecked, () => "")} not looked at`,
            );
          if (a.notJudged.length)
            await notVerified(
              `how ${a.notJudged.length} image-backed volume(s) in AZ ${c.site.az} that are not available or in-use were built`,
              listed(a.notJudged, (v) => ` status ${v.status}`),
            );
          const where = (id: string) => {
            const { found, unread } = elsewhere[id]!;
            const also = unread.length ? `; not looked at: ${unread.join(", ")}` : "";
            return (found.length ? `found on ${found.join(", ")}` : "on no configured site's cluster") + also;
          };
          const problems = [
            a.full.length
              ? `${a.full.length} volume(s) in AZ ${c.site.az} were made from an image but are full copies (no rbd parent on ${site}'s cluster), ` +
                `so the image was pulled whole instead of cloned locally: ${listed(a.full, (v) => ` from image ${v.image}`)}`
              : "",
            a.missing.length
              ? `${a.missing.length} volume(s) in AZ ${c.site.az} made from an image have no rbd image volume-<id> in ${site}'s ${volumesPool} pool: ` +
                listed(a.missing, (v) => ` from image ${v.image}, ${where(v.id)}`)
              : "",
            a.wrongParent.length
              ? `${a.wrongParent.length} volume(s) in AZ ${c.site.az} clone something other than their image's snapshot on ${site}'s cluster: ` +
                listed(a.wrongParent, (v) => ` ${v.rbd}`)
              : "",
          ].filter(Boolean);
          if (problems.length) defect(c, problems.join("; "));
        });

        const remote = await step(`upload a small raw image to ${c.central.store} only`, async () => {
          const img = await c.create.uploadedImage("rule-remote", Buffer.alloc(1024 * 1024, 7), {
            store: c.central.store,
            size: 1024 * 1024,
          });
          await attachJson("central-only image", imageEvidence(img));
          return img;
        });
        // NOTE: Cinder documents no refusal of a volume from an image outside the AZ's store: its RBD driver clones only an
        // image in its own cluster (_is_cloneable compares the location's fsid) and otherwise copies the image whole.
        // So an API error here, or a volume in error, is not the rule's refusal: it fails as what it is.
        const vol = await step(`create a volume from it in AZ ${c.site.az}, where the image is not`, async () => {
          try {
            return await c.create.volume("rule-remote-volume", { imageRef: remote.id, settle: false });
          } catch (e) {
            const r = apiRefusal(e);
            if (r && e instanceof Error) {
              e.message =
                `Cinder answered the request for a volume in AZ ${c.site.az} from image ${remote.id} with HTTP ${r.status}: ${r.message}` +
                (r.status === 413
                  ? "; HTTP 413 is Cinder's quota limit, not a refusal of the image: raise the project's volume quota"
                  : "; Cinder documents no refusal of a volume from an image outside the AZ's store, so this is not the refusal rule-5 looks for");
            }
            throw e;
          }
        });
        await step("wait until the volume is available", async () => {
          try {
            await c.create.volumeStatus(vol.id, "available");
          } catch (e) {
            if (!/volume status is error/.test((e as Error).message)) throw e;
            const why = await c.clients.volume
              .listMessages({ resource_uuid: vol.id })
              .then((m) => m.map((x) => x.user_message).join("; ") || "Cinder recorded no user message")
              .catch((x: Error) => `Cinder's messages could not be read: ${x.message}`);
            defect(
              c,
              `volume ${vol.id} from image ${remote.id} (only in ${c.central.store}) went to error in AZ ${c.site.az}: ${why}; ` +
                "Cinder documents no such refusal (it copies an image from another store whole), so this failure has another cause",
            );
          }
        });
        await step(`how the volume was built on ${site}'s cluster`, async () => {
          const e = (await c.probe(c.site).rbdList(volumesPool)).find((x) => x.image === `volume-${vol.id}` && !x.snapshot);
          if (!e) defect(c, `volume ${vol.id} built in AZ ${c.site.az} is not in ${site}'s ${volumesPool} pool`);
          if (e.parent) {
            const p = parentSpec(e.parent);
            if (p === `${imagesPool}/${String(remote.id)}@${imageSnapshot}`)
              defect(
                c,
                `volume ${vol.id} clones ${p} on ${site}'s cluster, yet Glance does not list store ${c.site.store} for image ${remote.id}`,
              );
            defect(c, `volume ${vol.id} from image ${remote.id} has an unexpected parent ${p}`);
          }
          // NOTE: no cloud refuses such a volume (see above), so this holds on every correct cloud: information, not a warning.
          await info(
            `Cinder pulled image ${remote.id} whole from ${c.central.store} to build a volume at ${site}`,
            `volume-${vol.id} on ${site}'s cluster has no rbd parent: this cloud does not stop a volume being made at an edge from an image that is not in the edge's store. ` +
              `Copy images to ${c.site.store} (copy-image) before creating volumes or servers there; rule-5's audit above catches volumes made the other way.`,
          );
        });
      },
    );
  });
}

export default defineSuite("rules", rulesSuite);
