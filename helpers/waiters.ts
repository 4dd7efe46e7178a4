import type { Timeouts } from "./config-schema.ts";
import { isApiError } from "./http.ts";
import { redactText } from "./redact.ts";
import type { ComputeClient, Server } from "./clients/compute.ts";
import type { Image, ImageClient, Task } from "./clients/image.ts";
import type { Backup, Snapshot, Volume, VolumeClient } from "./clients/volume.ts";

export interface WaitTiming {
  timeoutS: number;
  /** First interval between polls. */
  intervalS: number;
  /** The interval grows towards this while nothing changes; equal to intervalS when not given. */
  intervalMaxS?: number;
  /** Test hooks: a fake clock (ms) and sleep. */
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

type WaitKey = Exclude<keyof Timeouts, "pollInterval" | "pollIntervalMax" | "importPollInterval" | "importPollIntervalMax" | "request">;

/** Timing for one kind of wait, from the config's timeouts. */
export function timing(t: Timeouts, key: WaitKey): WaitTiming {
  return { timeoutS: t[key], intervalS: t.pollInterval, intervalMaxS: t.pollIntervalMax };
}

/** Timing for an import (copy-image, web-download, glance-direct): polled faster than the rest. */
export function importTiming(t: Timeouts, key: WaitKey): WaitTiming {
  return { timeoutS: t[key], intervalS: t.importPollInterval, intervalMaxS: t.importPollIntervalMax };
}

export interface StatePoint {
  state: string;
  /** Milliseconds since the wait began, at the first poll that saw this state. */
  atMs: number;
  poll: number;
}

export interface WaitResult<T> {
  value: T;
  elapsedMs: number;
  polls: number;
  /** Distinct consecutive states seen. */
  timeline: StatePoint[];
  /** The gaps between consecutive polls: the interval adapts, so this says how finely the wait could see changes. */
  gaps: GapStats;
}

export interface GapStats {
  minMs: number;
  maxMs: number;
  meanMs: number;
}

function gapStats(starts: { first: number; last: number; min: number; max: number; n: number }): GapStats {
  if (starts.n < 2) return { minMs: 0, maxMs: 0, meanMs: 0 };
  return { minMs: starts.min, maxMs: starts.max, meanMs: (starts.last - starts.first) / (starts.n - 1) };
}

export interface WaitForOptions<T> extends WaitTiming {
  /** The resource: "image 5f0c…". */
  what: string;
  /** The state waited for: "status active". */
  expected: string;
  poll: () => Promise<T>;
  done: (value: T) => boolean;
  /** A reason when the wanted state can no longer be reached. */
  terminal?: (value: T) => string | undefined;
  describe?: (value: T) => string;
}

export type WaitFailure = "timeout" | "terminal" | "poll";

export class WaitError<T = unknown> extends Error {
  constructor(
    readonly kind: WaitFailure,
    readonly what: string,
    readonly expected: string,
    readonly elapsedMs: number,
    readonly polls: number,
    readonly lastState: string | undefined,
    readonly lastValue: T | undefined,
    readonly timeline: StatePoint[],
    message: string,
    options?: { cause?: unknown },
  ) {
    super(redactText(message), options);
    this.name = kind === "timeout" ? "WaitTimeoutError" : kind === "terminal" ? "WaitTerminalError" : "WaitPollError";
  }
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

export function formatTimeline(timeline: StatePoint[]): string {
  return timeline.map((p) => `${p.state} @${secs(p.atMs)}`).join(" -> ");
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The one retry primitive: poll until done, a terminal state, or the timeout. */
export async function waitFor<T>(o: WaitForOptions<T>): Promise<WaitResult<T>> {
  const describe = o.describe ?? ((v: T) => JSON.stringify(v));
  const timeoutMs = o.timeoutS * 1000;
  const baseMs = o.intervalS * 1000;
  const maxMs = Math.max(baseMs, (o.intervalMaxS ?? o.intervalS) * 1000);
  const now = o.clock ?? (() => performance.now());
  const pause = o.sleep ?? sleep;
  const started = now();
  const timeline: StatePoint[] = [];
  let intervalMs = baseMs;
  let polls = 0;
  let last: { value: T; state: string } | undefined;
  const pollStarts = { first: 0, last: 0, min: Infinity, max: 0, n: 0 };
  const fail = (kind: WaitFailure, message: string, cause?: unknown) =>
    new WaitError<T>(kind, o.what, o.expected, now() - started, polls, last?.state, last?.value, timeline, message, cause === undefined ? undefined : { cause });
  for (;;) {
    let value: T;
    const t0 = now();
    if (pollStarts.n === 0) pollStarts.first = t0;
    else {
      const gap = t0 - pollStarts.last;
      pollStarts.min = Math.min(pollStarts.min, gap);
      pollStarts.max = Math.max(pollStarts.max, gap);
    }
    pollStarts.last = t0;
    pollStarts.n++;
    try {
      value = await o.poll();
    } catch (e) {
      const elapsed = now() - started;
      throw fail(
        "poll",
        `${o.what}: polling failed after ${secs(elapsed)} (${polls} polls) while waiting for ${o.expected}: ${(e as Error).message ?? e}` +
          (last ? `; last state: ${last.state}` : ""),
        e,
      );
    }
    polls++;
    const elapsed = now() - started;
    const state = describe(value);
    const changed = last?.state !== state;
    if (changed) timeline.push({ state, atMs: elapsed, poll: polls });
    last = { value, state };
    if (o.done(value)) return { value, elapsedMs: elapsed, polls, timeline, gaps: gapStats(pollStarts) };
    const reason = o.terminal?.(value);
    if (reason) {
      throw fail(
        "terminal",
        `${o.what}: gave up waiting for ${o.expected} after ${secs(elapsed)} (${polls} polls): ${reason}; last state: ${state}; states seen: ${formatTimeline(timeline)}`,
      );
    }
    if (elapsed >= timeoutMs) {
      throw fail(
        "timeout",
        `${o.what}: timed out after ${secs(elapsed)} (${polls} polls, timeout ${o.timeoutS}s) waiting for ${o.expected}; last state: ${state}; states seen: ${formatTimeline(timeline)}`,
      );
    }
    if (changed && polls > 1) intervalMs = baseMs;
    await pause(Math.min(intervalMs, timeoutMs - elapsed));
    intervalMs = Math.min(maxMs, intervalMs * 1.5);
  }
}

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
    terminal: (img) => (img.status !== status && (img.status === "killed" || img.status === "deleted") ? `image status is ${img.status}` : undefined),
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
  const task = p.task === undefined ? "" : p.task === null ? " task=none" : ` task=${p.task.status}${p.task.message ? `(${p.task.message})` : ""}`;
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
      const lockHeld = i.os_glance_import_task !== undefined && (p.task === undefined || p.task === null || i.os_glance_import_task === p.task.id);
      if (p.task) return (p.task.status === "success" || p.task.status === "failure") && !lockHeld;
      const importing = i.os_glance_importing_to_stores;
      return importing !== undefined && importing.length === 0 && !lockHeld && (i.status === "active" || (i.status === "queued" && p.failed.length > 0));
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

const VOLUME_ERROR = /^error/;

export async function waitForVolumeStatus(
  volume: Pick<VolumeClient, "showVolume">,
  id: string,
  status: string | readonly string[],
  t: WaitTiming,
): Promise<WaitResult<Volume>> {
  const wanted = typeof status === "string" ? [status] : [...status];
  return waitFor({
    ...t,
    what: `volume ${id}`,
    expected: `status ${wanted.join(" or ")}`,
    poll: () => volume.showVolume(id),
    done: (v) => wanted.includes(v.status),
    terminal: (v) => (VOLUME_ERROR.test(v.status) ? `volume status is ${v.status}` : undefined),
    describe: (v) => `status=${v.status}${v.migration_status ? ` migration=${v.migration_status}` : ""}`,
  });
}

export async function waitForSnapshotStatus(
  volume: Pick<VolumeClient, "showSnapshot">,
  id: string,
  status: string,
  t: WaitTiming,
): Promise<WaitResult<Snapshot>> {
  return waitFor({
    ...t,
    what: `volume snapshot ${id}`,
    expected: `status ${status}`,
    poll: () => volume.showSnapshot(id),
    done: (s) => s.status === status,
    terminal: (s) => (VOLUME_ERROR.test(s.status) && s.status !== status ? `snapshot status is ${s.status}` : undefined),
    describe: (s) => `status=${s.status}`,
  });
}

export async function waitForBackupStatus(
  volume: Pick<VolumeClient, "showBackup">,
  id: string,
  status: string | readonly string[],
  t: WaitTiming,
): Promise<WaitResult<Backup>> {
  const wanted = typeof status === "string" ? [status] : [...status];
  return waitFor({
    ...t,
    what: `volume backup ${id}`,
    expected: `status ${wanted.join(" or ")}`,
    poll: () => volume.showBackup(id),
    done: (b) => wanted.includes(b.status),
    terminal: (b) => (b.status === "error" ? `backup status is error${b.fail_reason ? `: ${b.fail_reason}` : ""}` : undefined),
    describe: (b) => `status=${b.status}`,
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

export type DeletionState = { gone: true } | { gone: false; value: unknown };

/** Poll show until it answers 404; a status of error_deleting ends the wait early. */
export async function waitForDeletion(show: () => Promise<unknown>, what: string, t: WaitTiming): Promise<WaitResult<DeletionState>> {
  const statusOf = (v: unknown) =>
    typeof v === "object" && v !== null && typeof (v as { status?: unknown }).status === "string" ? (v as { status: string }).status : undefined;
  return waitFor<DeletionState>({
    ...t,
    what,
    expected: "deletion (404)",
    poll: async () => {
      try {
        return { gone: false, value: await show() };
      } catch (e) {
        if (isApiError(e, 404)) return { gone: true };
        throw e;
      }
    },
    done: (s) => s.gone,
    terminal: (s) => {
      const status = s.gone ? undefined : statusOf(s.value);
      return status === "error_deleting" ? `status is ${status}` : undefined;
    },
    describe: (s) => (s.gone ? "gone" : `present status=${statusOf(s.value) ?? "?"}`),
  });
}
