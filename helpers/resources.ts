import { appendFileSync, existsSync, readFileSync } from "node:fs";
import type { Clients } from "./clients/index.ts";
import { isApiError } from "./http.ts";
import { redactText } from "./redact.ts";
import { waitForBackupStatus, waitForDeletion, waitForVolumeStatus, type WaitTiming } from "./waiters.ts";

export type ResourceKind = "image" | "volume" | "snapshot" | "server" | "backup";

export interface TrackedResource {
  kind: ResourceKind;
  id: string;
  name: string;
  site: string;
}

interface JournalLine extends TrackedResource {
  op: "created" | "deleted";
  at: string;
}

/** Appends to the run's resource journal, so a later sweep can find what an interrupted run left. */
export class ResourceJournal {
  constructor(readonly path: string) {}

  record(op: JournalLine["op"], r: TrackedResource): void {
    appendFileSync(this.path, `${JSON.stringify({ op, ...r, at: new Date().toISOString() })}\n`, { mode: 0o600 });
  }

  /** Resources created and not recorded as deleted, newest first. */
  outstanding(): TrackedResource[] {
    if (!existsSync(this.path)) return [];
    const lines = readFileSync(this.path, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as JournalLine);
    const live = new Map<string, TrackedResource>();
    for (const l of lines) {
      const key = `${l.kind}:${l.id}`;
      if (l.op === "created") live.set(key, { kind: l.kind, id: l.id, name: l.name, site: l.site });
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
      await c.compute.deleteServer(r.id).catch((e) => { if (!gone(e)) throw e; });
      await waitForDeletion(() => c.compute.showServer(r.id), `server ${r.name} (${r.id})`, t);
      return;
    case "backup": {
      const b = await c.volume.showBackup(r.id).catch((e) => { if (gone(e)) return undefined; throw e; });
      if (!b) return;
      if (!["available", "error"].includes(b.status)) await waitForBackupStatus(c.volume, r.id, ["available", "error"], t);
      await c.volume.deleteBackup(r.id).catch((e) => { if (!gone(e)) throw e; });
      await waitForDeletion(() => c.volume.showBackup(r.id), `volume backup ${r.name} (${r.id})`, t);
      return;
    }
    case "snapshot":
      await c.volume.deleteSnapshot(r.id).catch((e) => { if (!gone(e)) throw e; });
      await waitForDeletion(() => c.volume.showSnapshot(r.id), `volume snapshot ${r.name} (${r.id})`, t);
      return;
    case "volume": {
      // NOTE: after a server delete, Nova detaches its volumes asynchronously; the volume stays in-use a while.
      const v = await c.volume.showVolume(r.id).catch((e) => { if (gone(e)) return undefined; throw e; });
      if (!v) return;
      if (!["available", "error", "error_restoring", "error_extending", "error_managing"].includes(v.status)) {
        await waitForVolumeStatus(c.volume, r.id, ["available", "error"], t);
      }
      await c.volume.deleteVolume(r.id).catch((e) => { if (!gone(e)) throw e; });
      await waitForDeletion(() => c.volume.showVolume(r.id), `volume ${r.name} (${r.id})`, t);
      return;
    }
    case "image":
      await c.image.deleteImage(r.id).catch((e) => { if (!gone(e)) throw e; });
      await waitForDeletion(() => c.image.showImage(r.id), `image ${r.name} (${r.id})`, t);
      return;
  }
}

export interface CleanupFailure {
  resource: TrackedResource;
  error: string;
}

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

  async cleanup(log: (line: string) => void = () => undefined): Promise<CleanupFailure[]> {
    const failures: CleanupFailure[] = [];
    while (this.stack.length) {
      const r = this.stack.pop()!;
      try {
        await deleteResource(this.clients(), r, this.timing);
        this.journal?.record("deleted", r);
        log(`deleted ${r.kind} ${r.name} (${r.id})`);
      } catch (e) {
        const error = redactText((e as Error).message);
        failures.push({ resource: r, error });
        log(`could NOT delete ${r.kind} ${r.name} (${r.id}): ${error}`);
      }
    }
    return failures;
  }
}

export function formatCleanupFailures(f: CleanupFailure[]): string {
  return f.map((x) => `${x.resource.kind} ${x.resource.name} (${x.resource.id}) at ${x.resource.site}: ${x.error}`).join("\n");
}
