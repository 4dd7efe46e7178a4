import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type Clients, openClients } from "../../helpers/clients/index.ts";
import { waitForImageInStores, waitForImageStatus, waitForVolumeStatus } from "../../helpers/clients/waiters.ts";
import { loadConfig } from "../../helpers/config/load.ts";
import type { Config } from "../../helpers/config/schema.ts";
import { importTiming, timing } from "../../helpers/config/timing.ts";
import { isApiError } from "../../helpers/core/http.ts";
import { waitForDeletion } from "../../helpers/core/wait.ts";
import { generateRawImage } from "../../helpers/images/source.ts";
import { parse } from "yaml";
import { paths } from "../../lab/state.ts";
import { labConfigWith, labFault, runHarness, SHORT_TIMEOUTS, testOf, withFault } from "./testing.ts";

const config = () => labConfigWith({ timeouts: SHORT_TIMEOUTS });

describe("multi-store import on a lab broken on purpose", () => {
  test("with one edge: ms-10 fails when another cluster's copy loses its protected snapshot, and ms-11 is not verified", async () => {
    const lab = parse(readFileSync(paths().config, "utf8")) as { edges: unknown[] };
    const oneEdge = labConfigWith({ timeouts: SHORT_TIMEOUTS, edges: lab.edges.slice(0, 1) });
    // NOTE: Glance's delete from dcn0's store leaves central's copy alone; the test unprotects that copy's snapshot
    // the moment ms-10 sends the delete, as a store delete reaching the wrong cluster would.
    // Glance without dcn1's store (fault store-missing) is a cloud of one edge, as the config says.
    let broken: Promise<unknown> | undefined;
    const run = await withFault("dcn1", "store-missing", () =>
      runHarness(["--config", oneEdge, "--sites", "central", "--tests", "ms-10,ms-11"], {
        onLine: (line) => {
          const id = /\[central\] ▶ DELETE \/v2\/stores\/dcn0\/([0-9a-f-]{36})/.exec(line)?.[1];
          if (id && !broken) broken = execa("rbd", ["--cluster", "central", "snap", "unprotect", `images/${id}@snap`]);
        },
      }),
    );
    expect(broken, run.output).toBeDefined();
    await broken;
    const del = testOf(run, "central", "ms-10-delete-from-store");
    expect(del.status, run.output).toBe("failed");
    expect(del.failure).toMatch(
      /^\[central\] after the delete of image (\S+) from store dcn0, \1@snap is gone or unprotected on central: snapshots \[snap\]/,
    );
    expect(del.failureKind).toBe("product");
    const all = testOf(run, "central", "ms-11-copy-all-stores");
    expect(all.status).toBe("skipped");
    expect(all.notVerified).toEqual([
      expect.stringMatching(
        /^image \S+ is already in every store \(central, dcn0\): with 1 edge\(s\) there is nothing for copy-image all_stores to copy$/,
      ),
    ]);
  });

  test("with one edge whose Glance store writes to another cluster, ms-12 fails: the new copy is not on the edge's cluster", async () => {
    const lab = parse(readFileSync(paths().config, "utf8")) as { edges: unknown[] };
    const oneEdge = labConfigWith({ timeouts: SHORT_TIMEOUTS, edges: lab.edges.slice(0, 1) });
    const run = await withFault("dcn0", "glance-store-foreign", () =>
      runHarness(["--config", oneEdge, "--sites", "central", "--tests", "ms-12"]),
    );
    const named = testOf(run, "central", "ms-12-copy-named-stores");
    expect(named.status, run.output).toBe("failed");
    expect(named.failure).toMatch(
      /^\[central\] Glance lists stores dcn0 for image (\S+) after copy-image, but \1@snap is missing or unprotected on dcn0: ceph probe dcn0 \(container\): `.*rbd --cluster dcn0 snap ls images\/\1 --format json` exited 2: rbd: error opening image \1: \(2\) No such file or directory$/,
    );
    expect(named.failureKind).toBe("product");
  });

  test("a store that refuses writes fails all_stores both ways, and a Glance without image_conversion keeps qcow2", async () => {
    const run = await withFault("central", "no-conversion", () =>
      withFault("dcn1", "store-write-denied", () => runHarness(["--config", config(), "--suites", "multistore"])),
    );
    expect(run.exitCode).not.toBe(0);
    expect(run.summary.sites.map((s) => s.site)).toEqual(["central"]);
    expect(testOf(run, "central", "ms-1-web-download-stores").status).toBe("passed");
    const must = testOf(run, "central", "ms-2-web-download-all-stores");
    expect(must.status).toBe("failed");
    expect(must.failure).toMatch(
      /^\[central\] .*store dcn1 \(site dcn1\) failed the import \(os_glance_failed_import\).*the image went back to queued with stores \[\], as all_stores_must_succeed=true requires/s,
    );
    const allow = testOf(run, "central", "ms-5-allow-failure");
    expect(allow.status).toBe("failed");
    expect(allow.failure).toMatch(
      /^\[central\] .*store dcn1 \(site dcn1\) failed the import \(os_glance_failed_import\).*the image turned active in \[central, dcn0\] as allow_failure promises/s,
    );
    const qcow2 = testOf(run, "central", "ms-6-qcow2-conversion");
    expect(qcow2.status).toBe("failed");
    expect(qcow2.failure).toMatch(
      /^\[central\] .*is still qcow2 in \[central, ?dcn0\]: Glance's image_conversion import plugin is not enabled/s,
    );
    expect(testOf(run, "central", "ms-7-glance-direct-stores").failure).toMatch(/store dcn1 \(site dcn1\) failed the import/);
    for (const id of ["ms-8-locations", "ms-9-copy-rejected", "ms-10-delete-from-store"])
      expect(testOf(run, "central", id).status).toBe("skipped");
    expect(run.summary.sites.flatMap((s) => s.errors)).toEqual([]);
  });
});

/** Images and a volume made outside the harness, each breaking one DCN edge rule at dcn0. */
describe("the DCN edge rules catch what was done against them", () => {
  let cfg: Config;
  let clients: Clients;
  const images: string[] = [];
  const volumes: string[] = [];
  /** Volumes whose rbd image the test moved away, to put back before they are deleted. */
  const moved: string[] = [];
  let work: string;
  const made: Record<string, string> = {};

  async function image(name: string, diskFormat: string, file: string, store: string): Promise<string> {
    const img = await clients.image.createImage({ name, disk_format: diskFormat, container_format: "bare", visibility: "private" });
    images.push(img.id);
    await clients.image.uploadImageData(img.id, readFileSync(file), { store });
    await waitForImageStatus(clients.image, img.id, "active", timing(cfg.timeouts, "imageActive"));
    return img.id;
  }

  async function volume(name: string, imageRef: string): Promise<string> {
    const vol = await clients.volume.createVolume({ size: 1, name, imageRef, availability_zone: "dcn0" });
    volumes.push(vol.id);
    await waitForVolumeStatus(clients.volume, vol.id, "available", timing(cfg.timeouts, "volumeAvailable"));
    return vol.id;
  }

  async function copy(id: string, stores: string[]): Promise<void> {
    const { requestId } = await clients.image.importImage(id, { method: "copy-image", stores, allStoresMustSucceed: true });
    await waitForImageInStores(clients.image, id, stores, { ...importTiming(cfg.timeouts, "copyImage"), requestId });
  }

  /** NOTE: Glance records task times to the second; a copy in the same second as the last cannot be ordered after it. */
  async function inALaterSecond(id: string): Promise<void> {
    const last =
      (await clients.image.listImageTasks(id))
        .map((t) => t.created_at ?? "")
        .sort()
        .at(-1) ?? "";
    const wait = Date.parse(`${last.slice(0, 19)}Z`) + 1000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait + 100));
  }

  beforeAll(async () => {
    cfg = await loadConfig(paths().config);
    clients = await openClients(cfg);
    work = mkdtempSync(join(tmpdir(), "dcnv-foreign-"));
    const raw = join(work, "foreign.raw");
    await generateRawImage(raw, 2, "foreign");
    const qcow2 = join(work, "foreign.qcow2");
    await execa("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw, qcow2]);
    made.edgeOnly = await image("foreign-edge-only", "raw", raw, "dcn0");
    made.qcow2 = await image("foreign-qcow2", "qcow2", qcow2, "central");
    await copy(made.qcow2, ["dcn0"]);
    made.order = await image("foreign-edge-to-edge", "raw", raw, "dcn0");
    await copy(made.order, ["dcn1"]);
    await inALaterSecond(made.order);
    await copy(made.order, ["central"]);
    made.remote = await image("foreign-central-only", "raw", raw, "central");
    made.hidden = await image("foreign-hidden-qcow2", "qcow2", qcow2, "dcn0");
    await clients.image.updateImage(made.hidden, [{ op: "add", path: "/os_hidden", value: true }]);
    made.volume = await volume("foreign-full-copy", made.remote);
    // Clones of an image local to dcn0, broken below the API: one flattened, one whose rbd image is moved away.
    made.flattened = await volume("foreign-flattened", made.edgeOnly);
    await execa("rbd", ["--cluster", "dcn0", "flatten", `volumes/volume-${made.flattened}`]);
    made.gone = await volume("foreign-rbd-gone", made.edgeOnly);
    await execa("rbd", ["--cluster", "dcn0", "mv", `volumes/volume-${made.gone}`, `volumes/moved-${made.gone}`]);
    moved.push(made.gone);
  }, 300000);

  afterAll(async () => {
    for (const id of moved)
      await execa("rbd", ["--cluster", "dcn0", "mv", `volumes/moved-${id}`, `volumes/volume-${id}`], { reject: false });
    for (const id of volumes.reverse()) {
      await clients.volume.deleteVolume(id).catch((e) => (isApiError(e, 404) ? undefined : Promise.reject(e)));
      await waitForDeletion(() => clients.volume.showVolume(id), `volume ${id}`, timing(cfg.timeouts, "deletion"));
    }
    for (const id of images.reverse())
      await clients.image.deleteImage(id).catch((e) => (isApiError(e, 404) ? undefined : Promise.reject(e)));
    rmSync(work, { recursive: true, force: true });
  }, 300000);

  test("each rule fails at dcn0 naming the image or volume and the cause; the foreign resources survive the run", async () => {
    const run = await runHarness(["--config", config(), "--sites", "dcn0", "--suites", "rules"]);
    expect(run.exitCode).not.toBe(0);
    expect(run.summary.sites.map((s) => s.site)).toEqual(["dcn0"]);
    expect(testOf(run, "dcn0", "rule-1-same-names").status).toBe("passed");
    const central = testOf(run, "dcn0", "rule-2-edge-images-in-central");
    expect(central.status).toBe("failed");
    expect(central.failure).toMatch(
      new RegExp(
        `^\\[dcn0\\] .*2 image\\(s\\) in store dcn0 \\(site dcn0\\) have no copy in central: (?=.*${made.edgeOnly} \\(foreign-edge-only\\) stores \\[dcn0\\])(?=.*${made.hidden} \\(foreign-hidden-qcow2\\) stores \\[dcn0\\])`,
        "s",
      ),
    );
    const raw = testOf(run, "dcn0", "rule-3-edge-images-raw");
    expect(raw.status).toBe("failed");
    expect(raw.failure).toMatch(
      new RegExp(
        `^\\[dcn0\\] .*2 image\\(s\\) .*are not raw(?=.*${made.qcow2} \\(foreign-qcow2\\) disk_format qcow2)(?=.*${made.hidden} \\(foreign-hidden-qcow2\\) disk_format qcow2)`,
        "s",
      ),
    );
    const order = testOf(run, "dcn0", "rule-4-edge-upload-to-central-first");
    expect(order.status).toBe("failed");
    expect(order.failure).toMatch(
      new RegExp(
        `^\\[dcn0\\] .*uploaded at dcn0 were copied to another edge before central: ${made.order} \\(foreign-edge-to-edge\\) dcn0 -> dcn1 -> central`,
        "s",
      ),
    );
    const local = testOf(run, "dcn0", "rule-5-image-local-before-use");
    expect(local.status).toBe("failed");
    expect(local.failure).toMatch(
      new RegExp(
        `^\\[dcn0\\] (?=.*2 volume\\(s\\) in AZ dcn0 were made from an image but are full copies)` +
          `(?=.*${made.volume} \\(foreign-full-copy\\) from image ${made.remote})` +
          `(?=.*${made.flattened} \\(foreign-flattened\\) from image ${made.edgeOnly})` +
          `(?=.*1 volume\\(s\\) in AZ dcn0 made from an image have no rbd image volume-<id> in dcn0's volumes pool: ` +
          `${made.gone} \\(foreign-rbd-gone\\) from image ${made.edgeOnly}, on no configured site's cluster)`,
        "s",
      ),
    );
    expect(run.summary.sites.flatMap((s) => s.errors)).toEqual([]);
    // The run judged them and deleted only what it made.
    for (const id of [made.edgeOnly, made.qcow2, made.order, made.remote, made.hidden])
      expect((await clients.image.showImage(id)).status).toBe("active");
    for (const id of [made.volume, made.flattened, made.gone]) expect((await clients.volume.showVolume(id)).status).toBe("available");
  });

  test("a compute host outside its AZ fails rule 1 at that site; a volume quota of 0 fails rule-5 as infrastructure, not as the refusal", async () => {
    // NOTE: the run's preflight refuses to start under a quota of 0, so the quota drops once it has passed.
    let quota: Promise<void> | undefined;
    const run = await withFault("dcn1", "az-mismatch", async () => {
      const r = await runHarness(["--config", config(), "--sites", "dcn1", "--suites", "rules"], {
        onLine: (line) => {
          if (!quota && /preflight: \d+ checks met/.test(line)) {
            const q = labFault("dcn1", "volume-quota");
            q.catch(() => undefined);
            quota = q;
          }
        },
      });
      expect(quota, r.output).toBeDefined();
      await quota;
      return r;
    });
    const names = testOf(run, "dcn1", "rule-1-same-names");
    expect(names.status).toBe("failed");
    expect(names.failure).toMatch(/^\[dcn1\] Nova has no AZ dcn1 with an enabled, up compute host \(AZs: [^)]*\)$/);
    const local = testOf(run, "dcn1", "rule-5-image-local-before-use");
    expect(local.status, run.output).toBe("failed");
    expect(local.failure).toMatch(
      /HTTP 413: .*quota.*; HTTP 413 is Cinder's quota limit, not a refusal of the image: raise the project's volume quota/s,
    );
    expect(local.failureKind).toBe("infrastructure");
  });
});
