import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import type { Clients } from "../clients/index.ts";
import { ApiError } from "../core/http.ts";
import {
  CleanupLeftoversError,
  deleteAll,
  formatLeftover,
  leftoverOf,
  RESOURCE_KINDS,
  type ResourceKind,
  type ResourceKindDef,
  ResourceJournal,
  ResourceTracker,
  type TrackedResource,
} from "./resources.ts";

const timing = { timeoutS: 5, intervalS: 0.001 };

function fakeClients(log: string[], failVolume = false): Clients {
  const gone = (service: string) => new ApiError({ service, method: "GET", url: "http://x/y", status: 404 });
  const deleted = new Set<string>();
  const api = (kind: string) => ({
    del: async (id: string) => {
      if (kind === "volume" && failVolume)
        throw new ApiError({
          service: "cinder",
          method: "DELETE",
          url: `http://x/volumes/${id}`,
          status: 400,
          body: "Volume has snapshots",
        });
      log.push(`${kind} ${id}`);
      deleted.add(id);
    },
    show: async (id: string) => {
      if (deleted.has(id)) throw gone(kind);
      return { id, status: "available" };
    },
  });
  const img = api("image"),
    vol = api("volume"),
    snap = api("snapshot"),
    srv = api("server");
  return {
    image: { deleteImage: img.del, showImage: img.show },
    volume: { deleteVolume: vol.del, showVolume: vol.show, deleteSnapshot: snap.del, showSnapshot: snap.show },
    compute: { deleteServer: srv.del, showServer: srv.show },
  } as unknown as Clients;
}

describe("resource tracking", () => {
  test("cleanup deletes last-in-first-out and the journal ends with nothing outstanding", async () => {
    const log: string[] = [];
    const journal = new ResourceJournal(join(mkdtempSync(join(tmpdir(), "dcnv-j-")), "resources.jsonl"));
    const t = new ResourceTracker(() => fakeClients(log), timing, journal);
    t.track({ kind: "image", id: "i1", name: "img", site: "dcn0" });
    t.track({ kind: "volume", id: "v1", name: "vol", site: "dcn0" });
    t.track({ kind: "server", id: "s1", name: "srv", site: "dcn0" });
    expect(journal.outstanding().map((r) => r.id)).toEqual(["s1", "v1", "i1"]);
    expect(await t.cleanup()).toEqual([]);
    expect(log).toEqual(["server s1", "volume v1", "image i1"]);
    expect(journal.outstanding()).toEqual([]);
  });

  test("a resource that will not delete is reported, stays in the journal, and the others still go", async () => {
    const log: string[] = [];
    const journal = new ResourceJournal(join(mkdtempSync(join(tmpdir(), "dcnv-j-")), "resources.jsonl"));
    const t = new ResourceTracker(() => fakeClients(log, true), timing, journal);
    t.track({ kind: "image", id: "i1", name: "img", site: "dcn1" });
    t.track({ kind: "volume", id: "v1", name: "vol", site: "dcn1" });
    const failures = await t.cleanup();
    expect(failures.map((f) => f.resource.id)).toEqual(["v1"]);
    expect(failures[0].error).toMatch(/400/);
    expect(log).toEqual(["image i1"]);
    expect(journal.outstanding().map((r) => r.id)).toEqual(["v1"]);
  });
});

describe("resource kinds", () => {
  test("every kind has its delete, isDeleted and waitDeleted; a kind without an entry does not compile", () => {
    const { image: _image, ...withoutImage } = RESOURCE_KINDS;
    // @ts-expect-error the image kind has no entry
    const missing: Record<ResourceKind, ResourceKindDef> = withoutImage;
    expect(Object.keys(missing)).not.toContain("image");
    for (const def of Object.values(RESOURCE_KINDS)) expect(Object.keys(def).sort()).toEqual(["delete", "isDeleted", "waitDeleted"]);
  });

  test("isDeleted: a 404 is gone; an image copy is gone once its store leaves the image's stores", async () => {
    const clients = fakeClients([]);
    const volume: TrackedResource = { kind: "volume", id: "v1", name: "vol", site: "dcn0" };
    expect(await RESOURCE_KINDS.volume.isDeleted(clients, volume)).toBe(false);
    await RESOURCE_KINDS.volume.delete(clients, volume, timing);
    expect(await RESOURCE_KINDS.volume.isDeleted(clients, volume)).toBe(true);
    let stores = ["central", "dcn0"];
    const image = { showImage: async (id: string) => ({ id, stores }) } as unknown as Clients["image"];
    const copy: TrackedResource = { kind: "image-copy", id: "i1", name: "img", site: "dcn0", store: "dcn0" };
    expect(await RESOURCE_KINDS["image-copy"].isDeleted({ image } as Clients, copy)).toBe(false);
    stores = ["central"];
    expect(await RESOURCE_KINDS["image-copy"].isDeleted({ image } as Clients, copy)).toBe(true);
  });

  test("a leftover keeps its site, kind and id through the sweep, each site's resources deleted with its own clients", async () => {
    const log: string[] = [];
    const bySite: Record<string, Clients> = { dcn0: fakeClients(log), dcn1: fakeClients(log, true) };
    const resources: TrackedResource[] = [
      { kind: "volume", id: "v0", name: "vol0", site: "dcn0" },
      { kind: "volume", id: "v1", name: "vol1", site: "dcn1" },
    ];
    const { deleted, failed } = await deleteAll((r) => bySite[r.site]!, resources, timing);
    expect(deleted.map((r) => r.id)).toEqual(["v0"]);
    const [left] = failed.map(leftoverOf);
    expect(left).toMatchObject({ site: "dcn1", kind: "volume", id: "v1", name: "vol1" });
    expect(left!.reason).toMatch(/400/);
    expect(formatLeftover(left!)).toBe(`volume vol1 (v1) at dcn1: ${left!.reason}`);
    const e = new CleanupLeftoversError("dcn1", failed);
    expect(e.leftovers).toEqual([left]);
    expect(e.message).toBe(`[dcn1] cleanup left resources behind:\nvolume vol1 (v1) at dcn1: ${left!.reason}`);
  });
});
