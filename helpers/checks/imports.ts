import { createReadStream, createWriteStream, existsSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import axios from "axios";
import { defaultStore, type Image, type ImportMethod, type ImportOptions } from "../clients/image.ts";
import { type ImportProgress, waitForImportSettled } from "../clients/waiters.ts";
import type { Distribution, Site } from "../config/schema.ts";
import { importTiming } from "../config/timing.ts";
import { sha512Of } from "../core/digest.ts";
import { isApiError } from "../core/http.ts";
import type { WaitResult } from "../core/wait.ts";
import { notApplicable, roleOf, testsAt, tierAllows } from "../harness/catalog.ts";
import type { SiteContext } from "../harness/context.ts";
import type { RunInfo } from "../harness/model.ts";
import { attachJson, step } from "../harness/steps.ts";
import { FILTERING_REFUSAL, filteringRefusal, filteringRefusedTask } from "../images/glance-filtering.ts";
import { convertImage, generateRawImage, hashingReadStream, ImageSourceError, qemuImgInfo } from "../images/source.ts";
import { defect, imageEvidence } from "./evidence.ts";

/** An image Glance can fetch by web-download, and what the harness knows of its data. */
export interface WebImage {
  uri: string;
  /** What the image is declared as on creation. */
  diskFormat: "raw" | "qcow2";
  /** sha512 and size of the raw data it holds (after conversion, for a qcow2). */
  rawSha512: string;
  rawBytes: number;
  /** Where it came from, for the report. */
  origin: string;
}

async function fetchStream(uri: string, timeoutMs: number, field: string): Promise<Readable> {
  const r = await axios.get(uri, { responseType: "stream", timeout: timeoutMs, validateStatus: () => true, proxy: false });
  if (r.status !== 200) {
    (r.data as Readable).destroy();
    throw new ImageSourceError(`${field}: GET ${uri} returned HTTP ${r.status}`);
  }
  return r.data as Readable;
}

/**
 * The raw (or qcow2) image for web-download: written where the run's image server serves it, or the
 * URI from webDownload.uri / qcow2Uri. Undefined when the config gives a uri but no qcow2Uri.
 */
export async function webImage(ctx: SiteContext, format: "raw" | "qcow2"): Promise<WebImage | undefined> {
  const cfg = ctx.config.webDownload;
  const timeoutMs = ctx.config.timeouts.request * 1000 * 10;
  if (cfg.uri) {
    if (format === "raw") {
      const d = await sha512Of(await fetchStream(cfg.uri, timeoutMs, "webDownload.uri"));
      return { uri: cfg.uri, diskFormat: "raw", rawSha512: d.sha512, rawBytes: d.bytes, origin: `webDownload.uri ${cfg.uri}` };
    }
    if (!cfg.qcow2Uri) return undefined;
    const local = join(ctx.workDir, `qcow2-${ctx.site.name}`);
    await pipeline(await fetchStream(cfg.qcow2Uri, timeoutMs, "webDownload.qcow2Uri"), createWriteStream(local, { mode: 0o600 }));
    const info = await qemuImgInfo(local);
    if (info.format !== "qcow2") throw new ImageSourceError(`webDownload.qcow2Uri: ${cfg.qcow2Uri} is ${info.format}, not qcow2`);
    const raw = `${local}.raw`;
    await convertImage(local, "qcow2", raw, "raw");
    const d = await sha512Of(createReadStream(raw));
    return {
      uri: cfg.qcow2Uri,
      diskFormat: "qcow2",
      rawSha512: d.sha512,
      rawBytes: d.bytes,
      origin: `webDownload.qcow2Uri ${cfg.qcow2Uri}`,
    };
  }
  const web = ctx.run.web;
  if (!web) throw new Error("the run started no image server and webDownload.uri is not set");
  const base = `${ctx.run.runId}-${ctx.site.name}-web`;
  const rawPath = join(web.dir, `${base}.raw`);
  if (!existsSync(rawPath)) await generateRawImage(rawPath, cfg.sizeMiB, `${ctx.run.runId}-web`);
  const d = await sha512Of(createReadStream(rawPath));
  if (format === "raw") {
    return {
      uri: `${web.baseUrl}/${base}.raw`,
      diskFormat: "raw",
      rawSha512: d.sha512,
      rawBytes: d.bytes,
      origin: `served by the harness (${cfg.sizeMiB} MiB raw)`,
    };
  }
  const qcowPath = join(web.dir, `${base}.qcow2`);
  if (!existsSync(qcowPath)) await convertImage(rawPath, "raw", qcowPath, "qcow2");
  return {
    uri: `${web.baseUrl}/${base}.qcow2`,
    diskFormat: "qcow2",
    rawSha512: d.sha512,
    rawBytes: d.bytes,
    origin: `served by the harness (qcow2 of ${cfg.sizeMiB} MiB raw, ${statSync(qcowPath).size} bytes)`,
  };
}

export type ImportTarget = { stores: string[] } | { allStores: true } | { store: string } | { defaultStore: true };

export function describeTarget(t: ImportTarget): string {
  if ("stores" in t) return `stores [${t.stores.join(", ")}]`;
  if ("allStores" in t) return "all_stores";
  if ("store" in t) return `store ${t.store} (X-Image-Meta-Store)`;
  return "no store given (the default store)";
}

/** The stores an import to this target must reach. */
export async function targetStores(ctx: SiteContext, t: ImportTarget): Promise<string[]> {
  if ("stores" in t) return t.stores;
  if ("store" in t) return [t.store];
  const stores = await ctx.clients.image.listStores();
  if ("allStores" in t) return stores.filter((s) => s["read-only"] !== "true").map((s) => s.id);
  const def = defaultStore(stores);
  if (!def) defect(ctx, `Glance lists no default store (GET /v2/info/stores: ${stores.map((s) => s.id).join(", ")})`);
  return [def];
}

function importOptions(t: ImportTarget): Pick<ImportOptions, "stores" | "allStores" | "store"> {
  if ("stores" in t) return { stores: t.stores };
  if ("allStores" in t) return { allStores: true };
  if ("store" in t) return { store: t.store };
  return {};
}

export interface ImportResult {
  image: Image;
  targets: string[];
  wait: WaitResult<ImportProgress>;
}

/** The site a store belongs to, for messages: "store dcn1 (site dcn1)". */
export function storeLabel(ctx: SiteContext, store: string): string {
  const site = ctx.sites.find((s) => s.store === store);
  return site ? `store ${store} (site ${site.name})` : `store ${store} (no configured site)`;
}

/** Creates an image for an import, tracked for deletion from the moment it exists. */
export async function createImportImage(ctx: SiteContext, what: string, diskFormat: string): Promise<Image> {
  return step(`create image ${ctx.name(what)} with disk_format ${diskFormat}`, () => ctx.create.image(what, { diskFormat }));
}

/**
 * The import methods the run's tests ask Glance for besides copy-image (their catalog entries' imports), each with
 * the tests that use it: the tests that run, at the run's sites, in its suites and --tests, within its tier.
 */
export function importMethodsUsed(run: Pick<RunInfo, "config" | "sites" | "suites" | "tests" | "tier">): Map<ImportMethod, string[]> {
  const used = new Map<ImportMethod, string[]>();
  for (const site of run.sites)
    for (const e of testsAt(roleOf(run.config, site), run.suites, run.tests))
      if (tierAllows(run.tier, e.tier) && !notApplicable(e.id, run.config, site))
        for (const m of e.imports ?? []) if (!used.get(m)?.includes(e.id)) used.set(m, [...(used.get(m) ?? []), e.id]);
  return used;
}

/** What a distribution enables as it ships, where an operator would recognise it in the reason. */
const SHIPPED_METHODS: Partial<Record<Distribution, string>> = {
  // NOTE: tripleo-docs distributed_multibackend_storage: GlanceEnabledImportMethods: web-download,copy-image.
  osp17: "OSP 17.1 DCN ships web-download and copy-image only",
};

/** Why these methods cannot be used: Glance does not enable one of them (GET /v2/info/import); undefined when it enables all. */
export function methodsDisabled(
  enabled: readonly string[],
  methods: readonly ImportMethod[],
  distribution?: Distribution,
): string | undefined {
  const off = methods.filter((m) => !enabled.includes(m));
  if (!off.length) return undefined;
  const shipped = distribution && SHIPPED_METHODS[distribution];
  return `Glance does not enable ${off.join(" or ")} (enabled_import_methods: ${enabled.join(", ") || "none"}${shipped ? `; ${shipped}` : ""})`;
}

const enabledMethods = new WeakMap<SiteContext, Promise<string[]>>();

/** Why a test that imports by these methods cannot run here (it ends not verified, never failed); GET /v2/info/import is read once per site. */
export async function importMethodsOff(ctx: SiteContext, methods: readonly ImportMethod[]): Promise<string | undefined> {
  if (!methods.length) return undefined;
  let enabled = enabledMethods.get(ctx);
  if (!enabled) {
    enabled = ctx.clients.image.getImportInfo().then(
      (i) => i["import-methods"].value,
      (e: unknown) => {
        enabledMethods.delete(ctx);
        throw e;
      },
    );
    enabledMethods.set(ctx, enabled);
  }
  return methodsDisabled(await enabled, methods, ctx.config.distribution);
}

/** POST /import, then wait until the import ends whatever its outcome; the timeline goes to the report. */
export async function runImport(
  ctx: SiteContext,
  image: Image,
  method: "web-download" | "glance-direct",
  target: ImportTarget,
  o: { uri?: string; allStoresMustSucceed?: boolean; timeoutKey?: "imageActive" | "copyImage" } = {},
): Promise<ImportResult> {
  const glance = ctx.clients.image;
  const targets = await targetStores(ctx, target);
  const must = o.allStoresMustSucceed;
  const label = `${method} to ${describeTarget(target)}${must === undefined ? "" : `, all_stores_must_succeed=${must}`}`;
  ctx.requireReachable(targets, label);
  const req = await step(label, async () => {
    try {
      return await glance.importImage(image.id, { method, uri: o.uri, ...importOptions(target), allStoresMustSucceed: must });
    } catch (e) {
      if (isApiError(e, 400) && FILTERING_REFUSAL.test(e.message)) {
        throw new Error(filteringRefusal(o.uri, e.message), { cause: e });
      }
      throw e;
    }
  });
  const wait = await step(`wait until the import ends (polling from every ${ctx.config.timeouts.importPollInterval} s)`, async () => {
    const r = await waitForImportSettled(glance, image.id, targets, {
      ...importTiming(ctx.config.timeouts, o.timeoutKey ?? "imageActive"),
      requestId: req.requestId,
    });
    await attachImportTimeline(`${label}: timeline`, r);
    return r;
  });
  const final = wait.value.image;
  await attachJson(`image after ${method}`, imageEvidence(final));
  return { image: final, targets, wait };
}

/** The sequence of (status, importing, failed, stores) seen while polling, with how often it polled. */
export async function attachImportTimeline(name: string, r: WaitResult<ImportProgress>): Promise<void> {
  await attachJson(name, {
    polls: r.polls,
    elapsedSeconds: +(r.elapsedMs / 1000).toFixed(2),
    secondsBetweenPolls: {
      min: +(r.gaps.minMs / 1000).toFixed(2),
      mean: +(r.gaps.meanMs / 1000).toFixed(2),
      max: +(r.gaps.maxMs / 1000).toFixed(2),
    },
    task: r.value.task ? { id: r.value.task.id, status: r.value.task.status, message: r.value.task.message } : r.value.task,
    timeline: r.timeline.map((p) => ({ atSeconds: +(p.atMs / 1000).toFixed(2), poll: p.poll, state: p.state })),
  });
}

/**
 * The import ended with the image active in exactly the target stores, none failed, and the data
 * Glance holds is the data served (os_hash_value).
 */
export async function expectImported(ctx: SiteContext, r: ImportResult, want: { sha512?: string } = {}): Promise<void> {
  const { image, targets } = r;
  const task = r.wait.value.task;
  const why = task && task.status === "failure" ? ` (task ${task.id}: ${task.message || "no message"})` : "";
  await step(`the image is active in ${targets.join(", ")}, none failed`, async () => {
    const refused = task?.status === "failure" ? filteringRefusedTask(task) : undefined;
    if (refused) throw new Error(refused);
    const failed = image.os_glance_failed_import ?? [];
    if (failed.length) {
      defect(
        ctx,
        `image ${image.id}: ${failed.map((s) => storeLabel(ctx, s)).join(", ")} failed the import (os_glance_failed_import)${why}; status ${image.status}, stores [${image.stores.join(", ")}]`,
      );
    }
    if (image.status !== "active")
      defect(ctx, `image ${image.id} is ${image.status} after the import${why}, stores [${image.stores.join(", ")}]`);
    const missing = targets.filter((s) => !image.stores.includes(s));
    const extra = image.stores.filter((s) => !targets.includes(s));
    if (missing.length)
      defect(ctx, `image ${image.id} is not in ${missing.map((s) => storeLabel(ctx, s)).join(", ")}; stores [${image.stores.join(", ")}]`);
    if (extra.length) defect(ctx, `image ${image.id} also landed in ${extra.join(", ")}, which the import did not ask for`);
  });
  if (want.sha512) {
    await step("os_hash_value is the sha512 of the data served", async () => {
      if (image.os_hash_value !== want.sha512)
        defect(ctx, `image ${image.id} os_hash_value ${image.os_hash_value} differs from the served data's sha512 ${want.sha512}`);
    });
  }
}

/** glance-direct: stage the raw file (hashed while it streams), then import it. */
export async function stageImage(ctx: SiteContext, image: Image, path: string): Promise<{ sha512: string; bytes: number }> {
  return step(`stage the data (PUT /v2/images/${image.id}/stage), hashing it while it streams`, async () => {
    const src = hashingReadStream(path);
    await ctx.clients.image.stageImageData(image.id, src.stream, {
      size: statSync(path).size,
      timeoutMs: ctx.config.timeouts.imageActive * 1000,
    });
    return src.digest;
  });
}

export function siteOfStore(ctx: SiteContext, store: string): Site | undefined {
  return ctx.sites.find((s) => s.store === store);
}
