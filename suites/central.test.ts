import { describe, expect } from "vitest";
import { defaultStore } from "../helpers/clients/image.ts";
import { checkLocation, defect, imageEvidence, importRawImageToCentral, rbdEvidence } from "../helpers/dcn.ts";
import { attachJson, step, warning } from "../helpers/steps.ts";
import { procedureTest, siteSuite } from "./support.ts";

const { ctx, site } = siteSuite();

describe.sequential(`central site ${site}`, () => {
  procedureTest(site, "dcn-1-stores", "1. the Glance stores list central as the default and every configured edge store", {}, async () => {
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
    const expected = new Set([c.central.store, ...c.config.edges.map((e) => e.store)]);
    const unexpected = ids.filter((id) => !expected.has(id));
    if (unexpected.length) await warning(`stores not in the config: ${unexpected.join(", ")}`, `Glance lists ${ids.join(", ")}; the config names ${[...expected].join(", ")}`);
  });

  procedureTest(site, "dcn-2-raw-import", "2. a raw image uploaded to central lands in the central store only, with the hash computed while streaming", {}, async () => {
    const c = ctx();
    const { image, localSha512, prepared } = await importRawImageToCentral(c);
    await step(`the image is raw and its stores are exactly ${c.central.store}`, async () => {
      expect(image.disk_format).toBe("raw");
      if (image.stores.length !== 1 || image.stores[0] !== c.central.store) {
        defect(c, `image ${image.id} is in stores [${image.stores.join(", ")}], expected only ${c.central.store}`);
      }
    });
    await step("os_hash_value equals the sha512 computed locally while streaming", async () => {
      await attachJson("hashes", { local_sha512: localSha512, os_hash_algo: image.os_hash_algo, os_hash_value: image.os_hash_value, bytes: prepared.sizeBytes, size: image.size });
      if (image.os_hash_value !== localSha512) defect(c, `image ${image.id} os_hash_value ${image.os_hash_value} differs from the local sha512 ${localSha512}`);
    });
    await checkLocation(c, image, c.central);
    await step(`rbd on ${c.central.name} shows images/${image.id} with a protected snap`, async () => {
      await rbdEvidence(c.probe(c.central), "images", "central images pool");
      const snaps = await c.probe(c.central).rbdSnapshots("images", image.id);
      await attachJson(`rbd snap ls images/${image.id}`, snaps);
      if (!snaps.some((s) => s.name === "snap" && s.protected)) defect(c, `images/${image.id}@snap on ${c.central.name} is missing or not protected`);
    });
    await attachJson("image", imageEvidence(image));
  });
});
