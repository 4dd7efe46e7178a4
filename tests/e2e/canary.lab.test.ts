import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, test } from "vitest";
import { createCephProbe } from "../../helpers/ceph/probe.ts";
import { type Clients, openClients } from "../../helpers/clients/index.ts";
import { loadConfig } from "../../helpers/config/load.ts";
import type { RunSummary } from "../../helpers/harness/model.ts";
import { type Canary, type CanaryManifest, readManifest } from "../../helpers/ops/canary.ts";
import { paths, REPO_ROOT } from "../../lab/state.ts";
import { cli, withFault } from "./testing.ts";

// Plant before an upgrade, restart every OpenStack service (the upgrade's restarts), verify; break canaries the ways
// an upgrade does and verify again; rebuild a lost manifest; remove. One set, planted at both edges.
const dir = mkdtempSync(join(tmpdir(), "dcnv-canary-"));
const manifestPath = join(dir, "canaries.json");
const reports = join(dir, "reports");
let manifest: CanaryManifest;
let before: Set<string>;
let c: Clients;

const canary = (site: string, kind: Canary["kind"]) => manifest.sites.find((s) => s.site === site)!.canaries.find((x) => x.kind === kind)!;
const summary = () => JSON.parse(readFileSync(join(reports, "latest", "summary.json"), "utf8")) as RunSummary;
const testOf = (s: RunSummary, site: string, id: string) => s.sites.find((x) => x.site === site)!.tests.find((t) => t.id === id)!;

/** Every id Nova, Cinder and Glance list: what remove must leave exactly as it was before plant. */
async function everything(): Promise<Set<string>> {
  const lists = await Promise.all([
    c.image.listImages(),
    c.volume.listVolumes(),
    c.volume.listSnapshots(),
    c.volume.listBackups(),
    c.compute.listServers(),
  ]);
  return new Set(lists.flat().map((r) => r.id));
}

const mutate = async (site: string, ...args: string[]) => {
  const r = await cli(["lab", "mutate", site, ...args]);
  expect(r.exitCode, r.all).toBe(0);
};

beforeAll(async () => {
  c = await openClients(await loadConfig(paths().config));
  before = await everything();
}, 60000);

describe("storage canaries across an upgrade", () => {
  test("plant records seven canaries at each edge, each read back with its stores, clusters, rbd parents and data", async () => {
    const r = await cli(["canary", "plant", "--manifest", manifestPath, "--reports", reports, "--no-html"]);
    expect(r.exitCode, r.all).toBe(0);
    manifest = readManifest(manifestPath);
    expect(manifest.setId).toBe(`canary-${summary().runId}`);
    expect(manifest.sites.map((s) => s.site)).toEqual(["dcn0", "dcn1"]);
    for (const s of manifest.sites) {
      expect(s.canaries.map((x) => x.kind)).toEqual([
        "image",
        "volume",
        "snapshot",
        "snapshot-volume",
        "backup",
        "server-volume",
        "server",
      ]);
      const image = canary(s.site, "image");
      expect(image.facts[`snapshot at ${s.site}`]).toBe("protected");
      expect(canary(s.site, "volume").facts["rbd parent"]).toBe(`images/${image.id}@snap`);
      expect(canary(s.site, "snapshot-volume").facts["rbd parent"]).toMatch(/^volumes\/volume-\S+@snapshot-\S+$/);
      expect(canary(s.site, "server").facts.status).toBe("ACTIVE");
    }
    // The run kept its canaries: the next cleanup of every run leaves them alone, naming the set.
    const clean = await cli(["cleanup", "--all-runs"]);
    expect(clean.all).toContain(`a canary of set ${manifest.setId}`);
    expect(await everything()).toEqual(new Set([...before, ...manifest.sites.flatMap((s) => s.canaries.map((x) => x.id))]));
  });

  test("after every OpenStack service restarts, verify at the standard tier passes with a manifest rebuilt from the cloud", async () => {
    const restart = await cli(["lab", "restart"]);
    expect(restart.exitCode, restart.all).toBe(0);
    const rebuilt = join(dir, "rebuilt.json");
    const r = await cli([
      "canary",
      "verify",
      "--set",
      manifest.setId,
      "--write-manifest",
      rebuilt,
      "--tier",
      "standard",
      "--reports",
      reports,
      "--no-html",
    ]);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toContain(`manifest of ${manifest.setId} rebuilt from the marks of 14 canaries`);
    const again = readManifest(rebuilt);
    expect(again.sites).toEqual(manifest.sites);
    const s = summary();
    for (const site of ["dcn0", "dcn1"])
      for (const id of [
        "canary-image",
        "canary-volumes",
        "canary-backup",
        "canary-backup-restore",
        "canary-server",
        "canary-new-clone",
        "canary-copy",
      ])
        expect(testOf(s, site, id).status, `${site} ${id}`).toBe("passed");
    // What verify made (the restored volume, the new clone, the copy in the other edge's store) is gone again.
    const image = await c.image.showImage(canary("dcn0", "image").id);
    expect(image.stores.sort()).toEqual(["central", "dcn0"]);
  });

  test("Glance restarted without exposing locations: verify names the hidden locations and the new volume that is a full copy", async () => {
    const r = await withFault("central", "no-locations", () =>
      cli(["canary", "verify", "--manifest", manifestPath, "--sites", "dcn0", "--tier", "standard", "--reports", reports, "--no-html"]),
    );
    expect(r.exitCode, r.all).toBe(1);
    const image = canary("dcn0", "image");
    expect(testOf(summary(), "dcn0", "canary-image").failure).toContain(
      `image ${image.id}: location dcn0 fsid was ${image.facts["location dcn0 fsid"]}, is (no location)`,
    );
    expect(testOf(summary(), "dcn0", "canary-new-clone").failure).toMatch(new RegExp(`from the canary image ${image.id} is a full copy`));
  });

  test("a flattened clone, an image gone from an edge store, an unprotected image snapshot and a changed byte are each named", async () => {
    const vol = (site: string, kind: Canary["kind"]) => `volumes/volume-${canary(site, kind).id}`;
    // dcn0: its clones of the image flattened, then the image deleted from dcn0's store; one byte of the snapshot's volume changed.
    await mutate("dcn0", "flatten", vol("dcn0", "volume"));
    await mutate("dcn0", "flatten", vol("dcn0", "server-volume"));
    await mutate("dcn0", "delete-from-store", canary("dcn0", "image").id);
    await mutate("dcn0", "write-byte", vol("dcn0", "snapshot-volume"), "--offset", "4096");
    // dcn1: its clones of the image flattened, then the image's snapshot unprotected.
    await mutate("dcn1", "flatten", vol("dcn1", "volume"));
    await mutate("dcn1", "flatten", vol("dcn1", "server-volume"));
    await mutate("dcn1", "unprotect", `images/${canary("dcn1", "image").id}@snap`);
    const r = await cli(["canary", "verify", "--manifest", manifestPath, "--reports", reports, "--no-html"]);
    expect(r.exitCode, r.all).toBe(1);
    const s = summary();
    const failure = (site: string, id: string) => testOf(s, site, id).failure ?? "";
    const img0 = canary("dcn0", "image");
    expect(failure("dcn0", "canary-image")).toContain(`image ${img0.id}: stores was central,dcn0, is central`);
    expect(failure("dcn0", "canary-volumes")).toContain(
      `volume ${canary("dcn0", "volume").id}: rbd parent was images/${img0.id}@snap, is none (not a clone)`,
    );
    expect(failure("dcn0", "canary-volumes")).toMatch(
      new RegExp(`snapshot-volume ${canary("dcn0", "snapshot-volume").id}: sha512 of first \\d+ bytes was [0-9a-f]{128}, is [0-9a-f]{128}`),
    );
    const img1 = canary("dcn1", "image");
    expect(failure("dcn1", "canary-image")).toContain(`image ${img1.id}: snapshot at dcn1 was protected, is unprotected`);
    expect(failure("dcn1", "canary-volumes")).toContain(
      `server-volume ${canary("dcn1", "server-volume").id}: rbd parent was images/${img1.id}@snap, is none (not a clone)`,
    );
    for (const site of ["dcn0", "dcn1"]) expect(testOf(s, site, "canary-server").status, site).toBe("passed");
  });

  test("remove deletes the set's canaries, last planted first, and leaves nothing of them and nothing else changed", async () => {
    const r = await cli(["canary", "remove", "--manifest", manifestPath]);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/set canary-\S+: 14 deleted, 0 would not delete, 0 refused, 0 already gone/);
    expect(r.all.indexOf("deleted server")).toBeLessThan(r.all.indexOf("deleted image"));
    expect(await everything()).toEqual(before);
    const ids = manifest.sites.flatMap((s) => s.canaries.map((x) => x.id));
    const cfg = await loadConfig(paths().config);
    for (const site of [cfg.central, ...cfg.edges]) {
      const probe = createCephProbe(site);
      for (const pool of ["images", "volumes", "backups"]) {
        const names = (await probe.rbdList(pool)).map((e) => e.image);
        expect(
          names.filter((n) => ids.some((id) => n.includes(id))),
          `${site.name}/${pool}`,
        ).toEqual([]);
      }
      await probe.close();
    }
    const again = await execa(process.execPath, [join(REPO_ROOT, "bin", "dcn-verify.mjs"), "canary", "remove", "--set", manifest.setId], {
      reject: false,
      all: true,
    });
    expect(again.all).toMatch(/0 deleted, 0 would not delete, 0 refused, 0 already gone/);
  });
});
