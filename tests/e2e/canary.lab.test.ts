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
// an upgrade does and verify again; rebuild a lost manifest; remove. One set, planted at dcn0 (dcn1's store is where
// verify copies the old image to).
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
  test("plant records seven canaries at the edge, each read back with its stores, clusters, rbd parents and data", async () => {
    const r = await cli(["canary", "plant", "--manifest", manifestPath, "--sites", "dcn0", "--reports", reports, "--no-html"]);
    expect(r.exitCode, r.all).toBe(0);
    manifest = readManifest(manifestPath);
    expect(manifest.setId).toBe(`canary-${summary().runId}`);
    expect(manifest.sites.map((s) => s.site)).toEqual(["dcn0"]);
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
    expect(r.all).toContain(`manifest of ${manifest.setId} rebuilt from the marks of 7 canaries`);
    const again = readManifest(rebuilt);
    expect(again.sites).toEqual(manifest.sites);
    const s = summary();
    for (const site of ["dcn0"])
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

  test("Glance without locations, a flattened clone, an image gone from an edge store, an unprotected snapshot and a changed byte: each named", async () => {
    const vol = (kind: Canary["kind"]) => `volumes/volume-${canary("dcn0", kind).id}`;
    const image = canary("dcn0", "image");
    // The image's clones at dcn0 flattened, then the image deleted from dcn0's store; its snapshot at central
    // unprotected (central's copy has no clones); one byte of the snapshot's volume changed.
    await mutate("dcn0", "flatten", vol("volume"));
    await mutate("dcn0", "flatten", vol("server-volume"));
    await mutate("dcn0", "delete-from-store", image.id);
    await mutate("central", "unprotect", `images/${image.id}@snap`);
    await mutate("dcn0", "write-byte", vol("snapshot-volume"), "--offset", "4096");
    // Glance restarted without exposing locations, as an upgrade that drops show_multiple_locations would.
    const r = await withFault("central", "no-locations", () =>
      cli(["canary", "verify", "--manifest", manifestPath, "--reports", reports, "--no-html"]),
    );
    expect(r.exitCode, r.all).toBe(1);
    const s = summary();
    const failure = (id: string) => testOf(s, "dcn0", id).failure ?? "";
    expect(failure("canary-image")).toContain(
      `image ${image.id}: location central fsid was ${image.facts["location central fsid"]}, is (no location)`,
    );
    expect(failure("canary-image")).toContain(`image ${image.id}: stores was central,dcn0, is central`);
    expect(failure("canary-image")).toContain(`image ${image.id}: snapshot at central was protected, is unprotected`);
    expect(failure("canary-image")).toContain(`image ${image.id}: snapshot at dcn0 was protected, is missing`);
    for (const kind of ["volume", "server-volume"] as const)
      expect(failure("canary-volumes")).toContain(
        `${kind} ${canary("dcn0", kind).id}: rbd parent was images/${image.id}@snap, is none (not a clone)`,
      );
    expect(failure("canary-volumes")).toMatch(
      new RegExp(`snapshot-volume ${canary("dcn0", "snapshot-volume").id}: sha512 of first \\d+ bytes was [0-9a-f]{128}, is [0-9a-f]{128}`),
    );
    expect(testOf(s, "dcn0", "canary-server").status).toBe("passed");
  });

  test("remove deletes the set's canaries, last planted first, and leaves nothing of them and nothing else changed", async () => {
    const r = await cli(["canary", "remove", "--manifest", manifestPath]);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/set canary-\S+: 7 deleted, 0 would not delete, 0 refused, 0 already gone/);
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
