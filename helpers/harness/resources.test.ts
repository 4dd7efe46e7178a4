import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import type { Clients } from "../clients/index.ts";
import { ApiError } from "../core/http.ts";
import { ResourceJournal, ResourceTracker } from "./resources.ts";

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
