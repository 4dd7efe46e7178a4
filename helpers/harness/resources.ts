import { appendFileSync, existsSync, readFileSync } from "node:fs";
import type { Clients } from "../clients/index.ts";
import { waitForBackupStatus, waitForVolumeStatus } from "../clients/waiters.ts";
import { isApiError } from "../core/http.ts";
import { redactText } from "../core/redact.ts";
import { WaitError, type WaitTiming, waitFor, waitForDeletion } from "../core/wait.ts";

/** image-copy: an image's copy in one store (copy-image), deleted from that store only. */
export type ResourceKind = "image" | "volume" | "snapshot" | "server" | "backup" | "image-copy";

export interface TrackedResource {
  kind: ResourceKind;
  id: string;
  name: string;
  site: string;
  /** For an image-copy: the store that holds the copy. */
  store?: string;
}

export interface JournalLine extends TrackedResource {
  /** kept: left in the cloud on purpose (a canary), no longer the run's to clean up. */
  op: "created" | "deleted" | "kept";
  at: string;
}

const resourceOf = (l: JournalLine): TrackedResource => ({
  kind: l.kind,
  id: l.id,
  name: l.name,
  site: l.site,
  ...(l.store ? { store: l.store } : {}),
});

/** Appends to the run's resource journal, so a later sweep can find what an interrupted run left. */
export class ResourceJournal {
  constructor(readonly path: string) {}

  record(op: JournalLine["op"], r: TrackedResource): void {
    appendFileSync(this.path, `${JSON.stringify({ op, ...r, at: new Date().toISOString() })}\n`, { mode: 0o600 });
  }

  /** Every line of the journal, oldest first. */
  lines(): JournalLine[] {
    if (!existsSync(this.path)) return [];
    return readFileSync(this.path, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as JournalLine);
  }

  /** Resources created and since recorded as deleted, oldest first. */
  deleted(): TrackedResource[] {
    const gone = new Map<string, TrackedResource>();
    for (const l of this.lines()) if (l.op === "deleted") gone.set(`${l.kind}:${l.id}`, resourceOf(l));
    const live = new Set(this.outstanding().map((r) => `${r.kind}:${r.id}`));
    return [...gone].filter(([k]) => !live.has(k)).map(([, r]) => r);
  }

  /** Resources created and not recorded as deleted, newest first. */
  outstanding(): TrackedResource[] {
    const live = new Map<string, TrackedResource>();
    for (const l of this.lines()) {
      const key = `${l.kind}:${l.id}`;
      if (l.op === "created") live.set(key, resourceOf(l));
      else live.delete(key);
    }
    return [...live.values()].reverse();
  }
}

/**
 * Deletes one resource and waits until it is gone; a 404 counts as gone. A volume still detaching
 * from a deleted server is waited for first.
 */
export async function deleteResource(c: Clients, r: TrackedResource, t: WaitTiming): Promise<void> {
  const gone = (e: unknown) => isApiError(e, 404);
  switch (r.kind) {
    case "server":
      await c.compute.deleteServer(r.id).catch((e) => {
        if (!gone(e)) throw e;
      });
      await waitForDeletion(() => c.compute.showServer(r.id), `server ${r.name} (${r.id})`, t);
      return;
    case "backup": {
      const b = await c.volume.showBackup(r.id).catch((e) => {
        if (gone(e)) return undefined;
        throw e;
      });
      if (!b) return;
      if (!["available", "error"].includes(b.status)) await waitForBackupStatus(c.volume, r.id, ["available", "error"], t);
      await c.volume.deleteBackup(r.id).catch((e) => {
        if (!gone(e)) throw e;
      });
      await waitForDeletion(() => c.volume.showBackup(r.id), `volume backup ${r.name} (${r.id})`, t);
      return;
    }
    case "snapshot":
      await c.volume.deleteSnapshot(r.id).catch((e) => {
        if (!gone(e)) throw e;
      });
      await waitForDeletion(() => c.volume.showSnapshot(r.id), `volume snapshot ${r.name} (${r.id})`, t);
      return;
    case "volume": {
      // NOTE: after a server delete, Nova detaches its volumes asynchronously; the volume stays in-use a while.
      const v = await c.volume.showVolume(r.id).catch((e) => {
        if (gone(e)) return undefined;
        throw e;
      });
      if (!v) return;
      if (!["available", "error", "error_restoring", "error_extending", "error_managing"].includes(v.status)) {
        await waitForVolumeStatus(c.volume, r.id, ["available", "error"], t);
      }
      await c.volume.deleteVolume(r.id).catch((e) => {
        if (!gone(e)) throw e;
      });
      await waitForDeletion(() => c.volume.showVolume(r.id), `volume ${r.name} (${r.id})`, t);
      return;
    }
    case "image-copy": {
      const store = r.store!;
      await c.image.deleteImageFromStore(store, r.id).catch((e) => {
        if (!gone(e)) throw e;
      });
      await waitFor<string[]>({
        ...t,
        what: `the copy of image ${r.name} (${r.id}) in store ${store}`,
        expected: `${store} gone from its stores`,
        poll: () =>
          c.image.showImage(r.id).then(
            (i) => i.stores,
            (e: unknown) => (gone(e) ? ([] as string[]) : Promise.reject(e)),
          ),
        done: (stores) => !stores.includes(store),
        describe: (stores) => `stores=${stores.join(",")}`,
      });
      return;
    }
    case "image":
      await c.image.deleteImage(r.id).catch((e) => {
        if (!gone(e)) throw e;
      });
      await waitForDeletion(() => c.image.showImage(r.id), `image ${r.name} (${r.id})`, t);
      return;
  }
}

export interface CleanupFailure<R extends TrackedResource = TrackedResource> {
  resource: R;
  error: string;
}

/**
 * Deletes resources in the order given (with the clients of each one's site when given a function), each waited for until gone; one that will not delete is
 * reported with its (redacted) error, never ignored, and the others still go.
 */
export async function deleteAll<R extends TrackedResource>(
  clients: Clients | ((r: R) => Clients),
  resources: readonly R[],
  t: WaitTiming,
  o: { journal?: ResourceJournal; log?: (line: string, r: R) => void } = {},
): Promise<{ deleted: R[]; failed: CleanupFailure<R>[] }> {
  const out: { deleted: R[]; failed: CleanupFailure<R>[] } = { deleted: [], failed: [] };
  // A service that does not answer (restarting, say) is waited for, at most t.timeoutS over the whole call.
  const deadline = Date.now() + t.timeoutS * 1000;
  for (const r of resources) {
    try {
      for (let pause = t.intervalS * 1000; ; pause = Math.min(pause * 1.5, (t.intervalMaxS ?? t.intervalS) * 1000)) {
        try {
          await deleteResource(typeof clients === "function" ? clients(r) : clients, r, t);
          break;
        } catch (e) {
          if (!unanswered(e) || Date.now() + pause > deadline) throw e;
          o.log?.(`${r.kind} ${r.name} (${r.id}): its service did not answer (${redactText((e as Error).message)}); trying again`, r);
          await new Promise((done) => setTimeout(done, pause));
        }
      }
      o.journal?.record("deleted", r);
      out.deleted.push(r);
      o.log?.(`deleted ${r.kind} ${r.name} (${r.id})`, r);
    } catch (e) {
      const error = redactText((e as Error).message);
      out.failed.push({ resource: r, error });
      o.log?.(`could NOT delete ${r.kind} ${r.name} (${r.id}): ${error}`, r);
    }
  }
  return out;
}

/** The service was not there: no answer at all, or a gateway's 502/503/504. */
const unanswered = (e: unknown): boolean =>
  e instanceof WaitError && e.kind === "poll"
    ? unanswered(e.cause)
    : isApiError(e) && (e.status === undefined || [502, 503, 504].includes(e.status));

/**
 * Registers each resource the moment it is created and deletes them last-in-first-out.
 * A resource that will not delete is reported, never ignored.
 */
export class ResourceTracker {
  private readonly stack: TrackedResource[] = [];

  constructor(
    private readonly clients: () => Clients,
    private readonly timing: WaitTiming,
    private readonly journal?: ResourceJournal,
  ) {}

  track(r: TrackedResource): void {
    this.stack.push(r);
    this.journal?.record("created", r);
  }

  get size(): number {
    return this.stack.length;
  }

  list(): readonly TrackedResource[] {
    return this.stack;
  }

  /** Leaves every resource tracked so far in the cloud (canaries): none is deleted at cleanup, and the journal says so. */
  keep(): TrackedResource[] {
    const kept = this.stack.splice(0);
    for (const r of kept) this.journal?.record("kept", r);
    return kept;
  }

  async cleanup(log: (line: string) => void = () => undefined): Promise<CleanupFailure[]> {
    const lifo = this.stack.splice(0).reverse();
    return (await deleteAll(this.clients(), lifo, this.timing, { journal: this.journal, log: (line) => log(line) })).failed;
  }
}

export function formatCleanupFailures(f: CleanupFailure[]): string {
  return f.map((x) => `${x.resource.kind} ${x.resource.name} (${x.resource.id}) at ${x.resource.site}: ${x.error}`).join("\n");
}

/** A site's cleanup left resources behind: the site's summary lists them under cleanup, not as a setup error. */
export class CleanupLeftoversError extends Error {
  constructor(site: string, failures: CleanupFailure[]) {
    super(`[${site}] cleanup left resources behind:\n${formatCleanupFailures(failures)}`);
    this.name = "CleanupLeftoversError";
  }
}
