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

/** A 404 on a delete: the resource is already gone, which is what was asked. */
const ignoreGone = (p: Promise<unknown>): Promise<void> =>
  p.then(
    () => undefined,
    (e: unknown) => {
      if (!isApiError(e, 404)) throw e;
    },
  );

/** A show that answers 404: undefined. */
const shown = <T>(p: Promise<T>): Promise<T | undefined> =>
  p.catch((e: unknown) => {
    if (isApiError(e, 404)) return undefined;
    throw e;
  });

/**
 * How one kind of resource is deleted, as Tempest's clients have it: `delete` asks for it (a 404 is done; a resource
 * still busy is waited for first), `isDeleted` says whether it is gone, and `waitDeleted` waits until it is.
 */
export interface ResourceKindDef {
  delete(clients: Clients, r: TrackedResource, t: WaitTiming): Promise<void>;
  isDeleted(clients: Clients, r: TrackedResource): Promise<boolean>;
  waitDeleted(clients: Clients, r: TrackedResource, t: WaitTiming): Promise<unknown>;
}

/** A kind whose API answers its show with 404 once it is gone, named `noun` in the wait's messages. */
const shownUntil404 = (noun: string, show: (clients: Clients, id: string) => Promise<unknown>): Omit<ResourceKindDef, "delete"> => ({
  isDeleted: async (clients, r) => (await shown(show(clients, r.id))) === undefined,
  waitDeleted: (clients, r, t) => waitForDeletion(() => show(clients, r.id), `${noun} ${r.name} (${r.id})`, t),
});

/** Every kind the harness creates, with how it is deleted: a kind without an entry does not compile. */
export const RESOURCE_KINDS = {
  server: {
    delete: (clients, r) => ignoreGone(clients.compute.deleteServer(r.id)),
    ...shownUntil404("server", (clients, id) => clients.compute.showServer(id)),
  },
  backup: {
    delete: async (clients, r, t) => {
      const b = await shown(clients.volume.showBackup(r.id));
      if (!b) return;
      if (!["available", "error"].includes(b.status)) await waitForBackupStatus(clients.volume, r.id, ["available", "error"], t);
      await ignoreGone(clients.volume.deleteBackup(r.id));
    },
    ...shownUntil404("volume backup", (clients, id) => clients.volume.showBackup(id)),
  },
  snapshot: {
    delete: (clients, r) => ignoreGone(clients.volume.deleteSnapshot(r.id)),
    ...shownUntil404("volume snapshot", (clients, id) => clients.volume.showSnapshot(id)),
  },
  volume: {
    delete: async (clients, r, t) => {
      // NOTE: after a server delete, Nova detaches its volumes asynchronously; the volume stays in-use a while.
      const v = await shown(clients.volume.showVolume(r.id));
      if (!v) return;
      if (!["available", "error", "error_restoring", "error_extending", "error_managing"].includes(v.status)) {
        await waitForVolumeStatus(clients.volume, r.id, ["available", "error"], t);
      }
      await ignoreGone(clients.volume.deleteVolume(r.id));
    },
    ...shownUntil404("volume", (clients, id) => clients.volume.showVolume(id)),
  },
  "image-copy": {
    delete: (clients, r) => ignoreGone(clients.image.deleteImageFromStore(storeOf(r), r.id)),
    isDeleted: async (clients, r) => !(await storesOf(clients, r.id)).includes(storeOf(r)),
    waitDeleted: (clients, r, t) => {
      const store = storeOf(r);
      return waitFor<string[]>({
        ...t,
        what: `the copy of image ${r.name} (${r.id}) in store ${store}`,
        expected: `${store} gone from its stores`,
        poll: () => storesOf(clients, r.id),
        done: (stores) => !stores.includes(store),
        describe: (stores) => `stores=${stores.join(",")}`,
      });
    },
  },
  image: {
    delete: (clients, r) => ignoreGone(clients.image.deleteImage(r.id)),
    ...shownUntil404("image", (clients, id) => clients.image.showImage(id)),
  },
} satisfies Record<ResourceKind, ResourceKindDef>;

const storeOf = (r: TrackedResource): string => {
  if (!r.store) throw new Error(`image-copy ${r.name} (${r.id}) names no store`);
  return r.store;
};

/** The stores that hold an image; none once the image itself is gone. */
const storesOf = async (clients: Clients, id: string): Promise<string[]> => (await shown(clients.image.showImage(id)))?.stores ?? [];

/**
 * Deletes one resource and waits until it is gone; a 404 counts as gone. A volume still detaching
 * from a deleted server is waited for first.
 */
export async function deleteResource(clients: Clients, r: TrackedResource, t: WaitTiming): Promise<void> {
  const kind: ResourceKindDef = RESOURCE_KINDS[r.kind];
  await kind.delete(clients, r, t);
  await kind.waitDeleted(clients, r, t);
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

/** What a site's cleanup or the run's sweep could not delete, as a record: its site stays a field on the way to the summary. */
export interface Leftover {
  site: string;
  kind: ResourceKind;
  id: string;
  name?: string;
  /** Why it would not go: the (redacted) error of its last attempt. */
  reason: string;
}

export const leftoverOf = ({ resource, error }: CleanupFailure): Leftover => ({
  site: resource.site,
  kind: resource.kind,
  id: resource.id,
  name: resource.name,
  reason: error,
});

/** "volume dcnv-… (id) at dcn0: why", as the summary and the logs show a leftover. */
export const formatLeftover = (l: Leftover): string =>
  `${l.kind}${l.name === undefined ? "" : ` ${l.name}`} (${l.id}) at ${l.site}: ${l.reason}`;

export function formatCleanupFailures(f: CleanupFailure[]): string {
  return f.map((x) => formatLeftover(leftoverOf(x))).join("\n");
}

/** A site's cleanup left resources behind: the site's summary lists them under cleanup, not as a setup error. */
export class CleanupLeftoversError extends Error {
  readonly leftovers: Leftover[];

  constructor(
    readonly site: string,
    failures: CleanupFailure[],
  ) {
    super(`[${site}] cleanup left resources behind:\n${formatCleanupFailures(failures)}`);
    this.name = "CleanupLeftoversError";
    this.leftovers = failures.map(leftoverOf);
  }
}
