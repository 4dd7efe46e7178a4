import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { createCephProbe } from "../../helpers/ceph/probe.ts";
import { type Clients, openClients } from "../../helpers/clients/index.ts";
import { waitForServerStatus } from "../../helpers/clients/waiters.ts";
import { loadConfig } from "../../helpers/config/load.ts";
import { waitForDeletion } from "../../helpers/core/wait.ts";
import type { RunSummary } from "../../helpers/harness/model.ts";
import { type Canary, type CanaryManifest, readManifest } from "../../helpers/harness/canary.ts";
import { listEverything } from "../../helpers/ops/leftovers.ts";
import { paths } from "../../lab/state.ts";
import { cli, withFault } from "./testing.ts";

// Plant before an upgrade, restart every OpenStack service (the upgrade's restarts), verify; break canaries the ways
// an upgrade does and verify again; delete the backup through Cinder's API and stop the server, and verify with a
// manifest rebuilt from the cloud (the set's inventory names the lost backup); remove. One set, planted at dcn0 (dcn1's store is where
// verify copies the old image to).
const dir = mkdtempSync(join(tmpdir(), "dcnv-canary-"));
const manifestPath = join(dir, "canaries.json");
const reports = join(dir, "reports");
let manifest: CanaryManifest;
let before: Set<string>;
let c: Clients;
let verifiedRunId: string;

const canary = (site: string, kind: Canary["kind"]) => manifest.sites.find((s) => s.site === site)!.canaries.find((x) => x.kind === kind)!;
const summary = () => JSON.parse(readFileSync(join(reports, "latest", "summary.json"), "utf8")) as RunSummary;
const testOf = (s: RunSummary, site: string, id: string) => s.sites.find((x) => x.site === site)!.tests.find((t) => t.id === id)!;

/** Every id Nova, Cinder and Glance list: what remove must leave exactly as it was before plant. */
const everything = async () => new Set(Object.values(await listEverything(c, [])).flatMap((l) => l.map((r) => r.id)));

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
    const plan = await cli(["plan", "canary", "plant", "--manifest", manifestPath, "--sites", "dcn0"]);
    expect(plan.exitCode, plan.all).toBe(0);
    expect(plan.stdout).toMatch(/^dcn0: 5 of 5 tests$/m);
    expect(plan.stdout).toMatch(/^ {2}canary-plant-server\s+standard\s+creates: canary server booted from a volume/m);
    expect(await everything()).toEqual(before);
    const r = await cli(["canary", "plant", "--manifest", manifestPath, "--sites", "dcn0", "--reports", reports, "--no-html"]);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toContain(
      "the set's inventory is in the metadata of all 7 canaries: a manifest rebuilt from the cloud is the one written",
    );
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
    verifiedRunId = s.runId;
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

  test("Glance without locations, a flattened clone, an image gone from an edge store, an unprotected snapshot, a changed byte and a backup's data gone: each named", async () => {
    const vol = (kind: Canary["kind"]) => `volumes/volume-${canary("dcn0", kind).id}`;
    const image = canary("dcn0", "image");
    // The image's clones at dcn0 flattened, then the image deleted from dcn0's store; its snapshot at central
    // unprotected (central's copy has no clones); one byte of the snapshot's volume changed.
    await mutate("dcn0", "flatten", vol("volume"));
    await mutate("dcn0", "flatten", vol("server-volume"));
    await mutate("dcn0", "delete-from-store", image.id);
    await mutate("central", "unprotect", `images/${image.id}@snap`);
    await mutate("dcn0", "write-byte", vol("snapshot-volume"), "--offset", "4096");
    // The backup's data removed from the backups pool behind Cinder's back (the lab keeps every site's backups in
    // central's cluster, where any backup service restores them).
    const cfg = await loadConfig(paths().config);
    const probe = createCephProbe(cfg.central);
    const backupData = [...new Set((await probe.rbdList("backups")).map((e) => e.image))].filter((n) =>
      n.includes(canary("dcn0", "volume").id),
    );
    await probe.close();
    expect(backupData).toHaveLength(1);
    await mutate("central", "remove", `backups/${backupData[0]}`);
    // Glance restarted without exposing locations, as an upgrade that drops show_multiple_locations would. At the
    // standard tier, so that the backup is restored and new work on the old canaries is tried too.
    const r = await withFault("central", "no-locations", () =>
      cli(["canary", "verify", "--manifest", manifestPath, "--tier", "standard", "--reports", reports, "--no-html"]),
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
    expect(failure("canary-backup-restore")).toMatch(
      new RegExp(`^\\[dcn0\\] the canary backup ${canary("dcn0", "backup").id} no longer restores: .*error_restoring`, "s"),
    );
    expect(failure("canary-new-clone")).toMatch(
      new RegExp(
        `^\\[dcn0\\] a new volume \\S+ from the canary image ${image.id} is a full copy, not a copy-on-write clone of images/${image.id}@snap`,
      ),
    );
    expect(testOf(s, "dcn0", "canary-server").status).toBe("passed");
    expect(testOf(s, "dcn0", "canary-copy").status).toBe("passed");
    // The site's report shows each canary as planted beside what verify found.
    const results = join(reports, s.runId, "dcn0", "allure-results");
    const shown = readdirSync(results)
      .filter((f) => f.endsWith("-attachment.json"))
      .map((f) => readFileSync(join(results, f), "utf8"));
    expect(
      shown.some((a) => a.includes(`"rbd parent": "images/${image.id}@snap"`) && a.includes('"rbd parent": "none (not a clone)"')),
      "an attachment with the volume's parent as planted and as found",
    ).toBe(true);
    // diff of the two verifies names what the upgrade broke, per canary test.
    const d = await cli(["diff", verifiedRunId, s.runId, "--reports", reports]);
    expect(d.exitCode, d.all).toBe(1);
    for (const id of ["canary-image", "canary-volumes", "canary-backup-restore", "canary-new-clone"])
      expect(d.stdout, id).toMatch(new RegExp(`dcn0.*${id}.*passed.*failed`));
  });

  test("the backup deleted through Cinder's API and the server stopped: a manifest rebuilt from the cloud names both, the backup as failed", async () => {
    const backup = canary("dcn0", "backup");
    const server = canary("dcn0", "server");
    const t = { timeoutS: 120, intervalS: 2 };
    await c.volume.deleteBackup(backup.id);
    await waitForDeletion(() => c.volume.showBackup(backup.id), `volume backup ${backup.id}`, t);
    await c.compute.stopServer(server.id);
    await waitForServerStatus(c.compute, server.id, "SHUTOFF", t);
    const rebuilt = join(dir, "rebuilt-after-loss.json");
    const r = await cli(["canary", "verify", "--set", manifest.setId, "--write-manifest", rebuilt, "--reports", reports, "--no-html"]);
    expect(r.exitCode, r.all).toBe(1);
    expect(r.all).toContain(`[dcn0] backup ${backup.id}: named by the site's inventory, not in the cloud with the set's mark`);
    expect(readManifest(rebuilt).sites[0]!.canaries.find((x) => x.kind === "backup")).toEqual({
      kind: "backup",
      id: backup.id,
      name: backup.name,
      facts: {},
      onlyInInventory: true,
    });
    const s = summary();
    const backupTest = testOf(s, "dcn0", "canary-backup");
    expect(backupTest.status).toBe("failed");
    expect(backupTest.failure).toContain(`backup ${backup.id}: exists was yes, is no (not found)`);
    expect(backupTest.notVerified).toBeUndefined();
    expect(r.all).not.toMatch(/NOT VERIFIED canary-backup:/);
    expect(testOf(s, "dcn0", "canary-server").failure).toContain(`server ${server.id}: status was ACTIVE, is SHUTOFF`);
  });

  test("remove deletes the set's canaries, last planted first, and leaves nothing of them and nothing else changed", async () => {
    const plan = await cli(["plan", "canary", "remove", "--manifest", manifestPath]);
    expect(plan.exitCode, plan.all).toBe(0);
    expect(plan.stdout.match(/^would delete /gm)).toHaveLength(6);
    expect(plan.stdout.split("\n")[0]).toMatch(/^would delete server /);
    const backup = canary("dcn0", "backup").id;
    const planted = new Set([...before, ...manifest.sites.flatMap((x) => x.canaries.map((k) => k.id))].filter((id) => id !== backup));
    expect(await everything()).toEqual(planted);
    const r = await cli(["canary", "remove", "--manifest", manifestPath]);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/set canary-\S+: 6 deleted, 0 would not delete, 0 refused, 1 already gone/);
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
    const again = await cli(["canary", "remove", "--set", manifest.setId]);
    expect(again.all).toMatch(/0 deleted, 0 would not delete, 0 refused, 0 already gone/);
  });
});
