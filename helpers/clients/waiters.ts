import { type WaitResult, type WaitTiming, waitFor } from "../core/wait.ts";
import type { ComputeClient, Server } from "./compute.ts";
import type { Image, ImageClient, Task } from "./image.ts";
import type { Backup, Snapshot, Volume, VolumeClient } from "./volume.ts";

const list = (xs: readonly string[] | undefined) => (xs === undefined ? "absent" : `[${xs.join(",")}]`);

export async function waitForImageStatus(
  image: Pick<ImageClient, "showImage">,
  id: string,
  status: Image["status"],
  t: WaitTiming,
): Promise<WaitResult<Image>> {
  return waitFor({
    ...t,
    what: `image ${id}`,
    expected: `status ${status}`,
    poll: () => image.showImage(id),
    done: (img) => img.status === status,
    terminal: (img) =>
      img.status !== status && (img.status === "killed" || img.status === "deleted") ? `image status is ${img.status}` : undefined,
    describe: (img) => `status=${img.status}`,
  });
}

export interface ImportProgress {
  image: Image;
  /** The task started by the import request: undefined when not looked up, null when there is none. */
  task?: Task | null;
  targets: string[];
  missing: string[];
  failed: string[];
}

function describeImport(p: ImportProgress): string {
  const i = p.image;
  const task =
    p.task === undefined ? "" : p.task === null ? " task=none" : ` task=${p.task.status}${p.task.message ? `(${p.task.message})` : ""}`;
  return (
    `status=${i.status} importing=${list(i.os_glance_importing_to_stores)} failed=${list(i.os_glance_failed_import)}` +
    ` stores=${list(i.stores)} missing=${list(p.missing)}${i.os_glance_import_task ? ` lock=${i.os_glance_import_task}` : ""}${task}`
  );
}

/**
 * Wait until an import (copy-image and the others) has put the image in every target store.
 * An absent os_glance_importing_to_stores means the task has not started: still pending.
 * Done when nothing is left importing, every target is in `stores` (compared as sets) and the
 * import lock is released.
 * Gives up early on killed/deleted, a target in os_glance_failed_import, or, given the import's
 * request id, a failed task, a task that succeeded without the stores, or a request that started no task.
 */
export async function waitForImageInStores(
  image: Pick<ImageClient, "showImage" | "listImageTasks">,
  id: string,
  stores: readonly string[],
  t: WaitTiming & { requestId?: string },
): Promise<WaitResult<ImportProgress>> {
  const targets = [...new Set(stores)];
  let started = false;
  let sawImporting = false;
  return waitFor<ImportProgress>({
    ...t,
    what: `image ${id}`,
    expected: `stores [${targets.join(",")}]${t.requestId ? ` (import ${t.requestId})` : ""}`,
    poll: async () => {
      const img = await image.showImage(id);
      const have = new Set(img.stores);
      const missing = targets.filter((s) => !have.has(s));
      const failedSet = new Set(img.os_glance_failed_import ?? []);
      const failed = targets.filter((s) => failedSet.has(s));
      const importing = img.os_glance_importing_to_stores;
      if (importing?.some((s) => targets.includes(s))) started = true;
      if (img.status === "importing") sawImporting = true;
      let task: Task | null | undefined;
      const settled = importing !== undefined && importing.length === 0 && missing.length === 0 && !img.os_glance_import_task;
      if (t.requestId && !settled) {
        const tasks = await image.listImageTasks(id);
        const rid = t.requestId.replace(/^req-/, "");
        task = tasks.find((x) => (x.request_id ?? "").replace(/^req-/, "") === rid) ?? null;
      }
      return { image: img, task, targets, missing, failed };
    },
    done: (p) => {
      const importing = p.image.os_glance_importing_to_stores;
      if (p.missing.length > 0) return false;
      // NOTE: all_stores with copy-image and nothing left to copy answers 202 and starts no task.
      if (p.task === null) return true;
      // NOTE: the task drops its lock (os_glance_import_task) just after the last store; a new import before that is a 409.
      const lock = p.image.os_glance_import_task;
      const locked = lock !== undefined && (p.task === undefined || lock === p.task.id);
      return importing !== undefined && importing.length === 0 && !locked;
    },
    terminal: (p) => {
      const i = p.image;
      if (i.status === "killed" || i.status === "deleted") return `image status is ${i.status}`;
      if (sawImporting && i.status === "queued") return "image went from importing back to queued (the import failed)";
      const taskDone = p.task?.status === "success" || p.task?.status === "failure";
      // NOTE: a target left in os_glance_failed_import by an earlier import stays there until the new
      // task's flow starts; with the request id, trust it only once this import was seen running or ended.
      if (p.failed.length > 0 && (t.requestId === undefined || started || taskDone)) {
        return `os_glance_failed_import lists [${p.failed.join(",")}]${p.task?.message ? ` (task ${p.task.id}: ${p.task.message})` : ""}`;
      }
      if (p.task?.status === "failure") return `import task ${p.task.id} failed: ${p.task.message || "(no message)"}`;
      if (p.task === null) return `import request ${t.requestId} started no task, and stores [${p.missing.join(",")}] are missing`;
      const importing = i.os_glance_importing_to_stores ?? [];
      if (p.task?.status === "success" && importing.length === 0 && p.missing.length > 0) {
        return `import task ${p.task.id} succeeded but stores [${p.missing.join(",")}] are missing`;
      }
      return undefined;
    },
    describe: describeImport,
  });
}

/**
 * Wait until an import has finished, whatever its outcome: the import task ended and released the
 * lock. The caller judges the outcome (active or queued, stores, os_glance_failed_import): this is
 * the waiter for all_stores_must_succeed semantics, where a failed store is a result, not an error.
 * Each distinct (status, importing, failed, stores) is one timeline entry.
 */
export async function waitForImportSettled(
  image: Pick<ImageClient, "showImage" | "listImageTasks">,
  id: string,
  stores: readonly string[],
  t: WaitTiming & { requestId: string | undefined },
): Promise<WaitResult<ImportProgress>> {
  const targets = [...new Set(stores)];
  const rid = (t.requestId ?? "").replace(/^req-/, "");
  return waitFor<ImportProgress>({
    ...t,
    what: `image ${id}`,
    expected: `the import${t.requestId ? ` ${t.requestId}` : ""} to end`,
    poll: async () => {
      const [img, tasks] = await Promise.all([image.showImage(id), t.requestId ? image.listImageTasks(id) : Promise.resolve([])]);
      const have = new Set(img.stores);
      const failedSet = new Set(img.os_glance_failed_import ?? []);
      const task = t.requestId ? (tasks.find((x) => (x.request_id ?? "").replace(/^req-/, "") === rid) ?? null) : undefined;
      return { image: img, task, targets, missing: targets.filter((s) => !have.has(s)), failed: targets.filter((s) => failedSet.has(s)) };
    },
    done: (p) => {
      const i = p.image;
      const lockHeld =
        i.os_glance_import_task !== undefined && (p.task === undefined || p.task === null || i.os_glance_import_task === p.task.id);
      if (p.task) return (p.task.status === "success" || p.task.status === "failure") && !lockHeld;
      const importing = i.os_glance_importing_to_stores;
      return (
        importing !== undefined &&
        importing.length === 0 &&
        !lockHeld &&
        (i.status === "active" || (i.status === "queued" && p.failed.length > 0))
      );
    },
    terminal: (p) => {
      if (p.image.status === "killed" || p.image.status === "deleted") return `image status is ${p.image.status}`;
      if (p.task === null) return `import request ${t.requestId} started no task`;
      return undefined;
    },
    describe: (p) => {
      const i = p.image;
      const task = p.task ? ` task=${p.task.status}` : "";
      return `status=${i.status} importing=${list(i.os_glance_importing_to_stores)} failed=${list(i.os_glance_failed_import)} stores=${list(i.stores)}${task}`;
    },
  });
}

const CINDER_ERROR = /^error/;

/**
 * Waits until a Cinder resource (volume, snapshot, backup) has one of the wanted statuses; stops early
 * on an error status it was not waiting for.
 */
async function waitForCinderStatus<T extends { status: string }>(
  noun: string,
  what: string,
  show: () => Promise<T>,
  status: string | readonly string[],
  t: WaitTiming,
  o: { detail?: (r: T) => string; reason?: (r: T) => string } = {},
): Promise<WaitResult<T>> {
  const wanted = typeof status === "string" ? [status] : [...status];
  return waitFor({
    ...t,
    what,
    expected: `status ${wanted.join(" or ")}`,
    poll: show,
    done: (r) => wanted.includes(r.status),
    terminal: (r) =>
      CINDER_ERROR.test(r.status) && !wanted.includes(r.status) ? `${noun} status is ${r.status}${o.reason?.(r) ?? ""}` : undefined,
    describe: (r) => `status=${r.status}${o.detail?.(r) ?? ""}`,
  });
}

export function waitForVolumeStatus(
  volume: Pick<VolumeClient, "showVolume">,
  id: string,
  status: string | readonly string[],
  t: WaitTiming,
): Promise<WaitResult<Volume>> {
  return waitForCinderStatus("volume", `volume ${id}`, () => volume.showVolume(id), status, t, {
    detail: (v) => (v.migration_status ? ` migration=${v.migration_status}` : ""),
  });
}

export function waitForSnapshotStatus(
  volume: Pick<VolumeClient, "showSnapshot">,
  id: string,
  status: string,
  t: WaitTiming,
): Promise<WaitResult<Snapshot>> {
  return waitForCinderStatus("snapshot", `volume snapshot ${id}`, () => volume.showSnapshot(id), status, t);
}

export function waitForBackupStatus(
  volume: Pick<VolumeClient, "showBackup">,
  id: string,
  status: string | readonly string[],
  t: WaitTiming,
): Promise<WaitResult<Backup>> {
  return waitForCinderStatus("backup", `volume backup ${id}`, () => volume.showBackup(id), status, t, {
    reason: (b) => (b.fail_reason ? `: ${b.fail_reason}` : ""),
  });
}

/** Waits for the status with no task in flight (a stop sent during a start is a 409). */
export async function waitForServerStatus(
  compute: Pick<ComputeClient, "showServer">,
  id: string,
  status: string,
  t: WaitTiming,
): Promise<WaitResult<Server>> {
  return waitFor({
    ...t,
    what: `server ${id}`,
    expected: `status ${status} with no task_state`,
    poll: () => compute.showServer(id),
    done: (s) => s.status === status && !s["OS-EXT-STS:task_state"],
    terminal: (s) =>
      s.status === "ERROR" && status !== "ERROR"
        ? `server status is ERROR${s.fault ? `: ${s.fault.message}${s.fault.details ? ` (${s.fault.details.split("\n")[0]})` : ""}` : ""}`
        : undefined,
    describe: (s) =>
      `status=${s.status} task_state=${s["OS-EXT-STS:task_state"] ?? "none"}${s["OS-EXT-STS:vm_state"] ? ` vm_state=${s["OS-EXT-STS:vm_state"]}` : ""}`,
  });
}
