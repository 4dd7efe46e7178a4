import { backupsNotApplicable } from "../helpers/harness/catalog.ts";
import { confirmPlanted } from "../helpers/checks/canary.ts";
import { imageParent } from "../helpers/checks/clones.ts";
import { copyImage, importRawImageToCentral } from "../helpers/checks/images.ts";
import { backupsTarget, sitePools } from "../helpers/config/pools.ts";
import type { SiteContext } from "../helpers/harness/context.ts";
import { defineSuite, type SiteSuite, skipTest } from "../helpers/harness/suite.ts";
import { attachJson, step } from "../helpers/harness/steps.ts";
import { type Canary, type CanaryKind, canaryMetadata, headBytesOf, shaFact, writeSiteRecord } from "../helpers/harness/canary.ts";

/**
 * dcn-verify canary plant: long-lived canaries at each edge site, each read back and recorded (in the manifest, and
 * in its own metadata) with what it is and what it holds. A site's canaries are kept only when all of them planted;
 * otherwise the run deletes them, last in first out, as it does any run's resources.
 */
function canaryPlantSuite(s: SiteSuite): void {
  const { ctx, site, run, test, give, take, maybe } = s;
  const planted: Canary[] = [];

  interface CanaryImage {
    id: string;
    sha512: string;
    bytes: number;
  }

  const setId = () => {
    if (!run.canary) throw new Error("canary plant: the run carries no canary set");
    return run.canary.setId;
  };

  /** The canary's record, and its facts as metadata (marks included) for the resource that carries them. */
  function canary(kind: CanaryKind, facts: Record<string, string>): { facts: Record<string, string>; metadata: Record<string, string> } {
    return { facts, metadata: canaryMetadata(setId(), kind, facts) };
  }

  async function record(kind: CanaryKind, r: { id: string; name?: string | null }, facts: Record<string, string>): Promise<void> {
    const c: Canary = { kind, id: r.id, name: r.name ?? r.id, facts };
    await confirmPlanted(ctx(), c, { skip: (f) => kind === "backup" && headBytesOf(f) !== undefined });
    planted.push(c);
  }

  /**
   * Whether the site's volumes are backed up (conformance.backupSites) into a backups pool the config names (its own,
   * or conformance.backupsSite's): where they are not, the backup canary is not planted.
   */
  const takesBackups = (c: SiteContext) => {
    const meant = backupsTarget(c.config, c.site);
    return !backupsNotApplicable(c.config, c.site) && meant.kind === "pool" && meant.pool !== undefined;
  };

  s.describe(`canaries at ${site}`, () => {
    test(
      {
        id: "canary-plant-image",
        title: `plant a canary image in central's store and ${site}'s, holding the harness's bytes`,
        where: "edge",
        tier: "standard",
        creates: ["canary image (raw, central store, copied to the edge store), kept"],
        provides: ["canary-image"],
      },
      async () => {
        const c = ctx();
        const { image, localSha512, prepared } = await importRawImageToCentral(c, "canary-image");
        await copyImage(c, image.id, [c.site.store]);
        const { facts, metadata } = canary("image", {
          status: "active",
          size: String(prepared.sizeBytes),
          stores: [c.central.store, c.site.store].sort().join(","),
          [`location ${c.central.store} fsid`]: c.clusterOf(c.central),
          [`location ${c.site.store} fsid`]: c.clusterOf(c.site),
          [`snapshot at ${c.central.name}`]: "protected",
          [`snapshot at ${c.site.name}`]: "protected",
          [`sha512 at ${c.central.name}`]: localSha512,
          [`sha512 at ${c.site.name}`]: localSha512,
        });
        await record("image", image, facts);
        await step("mark the image as a canary of the set, with its facts in its properties", () =>
          c.clients.image.updateImage(
            image.id,
            Object.entries(metadata).map(([k, value]) => ({ op: "add" as const, path: `/${k}`, value })),
          ),
        );
        give<CanaryImage>("canary-image", { id: image.id, sha512: localSha512, bytes: prepared.sizeBytes });
      },
    );

    test(
      {
        id: "canary-plant-volumes",
        title: `plant a copy-on-write canary volume in AZ ${site}, its snapshot and a volume from the snapshot`,
        where: "edge",
        tier: "standard",
        creates: ["canary volume from the image in the edge AZ, its Cinder snapshot and a volume from the snapshot, kept"],
        holds: { volumes: 2, snapshots: 1 },
        provides: ["canary-volumes"],
        needs: ["canary-image"],
      },
      async () => {
        const c = ctx();
        const img = take<CanaryImage>("canary-image");
        const volumes = sitePools(c.config, c.site).volumes;
        const data = { [shaFact(img.bytes)]: img.sha512 };
        const vol = canary("volume", { status: "available", az: c.site.az, "rbd parent": imageParent(c, img.id), ...data });
        const volume = await step(`create canary volume ${c.name("canary-volume")} from the canary image in AZ ${c.site.az}`, () =>
          c.create.volume("canary-volume", { imageRef: img.id, metadata: vol.metadata }),
        );
        await record("volume", volume, vol.facts);
        const snap = canary("snapshot", { status: "available", volume: volume.id, "rbd snapshot": "protected" });
        // NOTE: Cinder's rbd driver protects the snapshot when a volume is cloned from it: its mark goes on first, its facts after the clone.
        const snapshot = await step(`take canary snapshot ${c.name("canary-snapshot")} of the canary volume`, () =>
          c.create.snapshot("canary-snapshot", volume.id, { metadata: canaryMetadata(setId(), "snapshot", {}) }),
        );
        const fromSnap = canary("snapshot-volume", {
          status: "available",
          az: c.site.az,
          "rbd parent": `${volumes}/volume-${volume.id}@snapshot-${snapshot.id}`,
          ...data,
        });
        const snapshotVolume = await step(`create canary volume ${c.name("canary-snapshot-volume")} from the snapshot`, () =>
          c.create.volume("canary-snapshot-volume", { snapshotId: snapshot.id, metadata: fromSnap.metadata }),
        );
        await record("snapshot", snapshot, snap.facts);
        await step("record the snapshot's facts in its metadata", () => c.clients.volume.setSnapshotMetadata(snapshot.id, snap.metadata));
        await record("snapshot-volume", snapshotVolume, fromSnap.facts);
        give("canary-volumes", { volume: volume.id });
      },
    );

    test(
      {
        id: "canary-plant-backup",
        title: `plant a canary backup of the canary volume at ${site}`,
        where: "edge",
        tier: "standard",
        creates: ["canary backup of the canary volume (where the site has a backups pool), kept"],
        holds: { backups: 1 },
        provides: ["canary-backup"],
        needs: ["canary-volumes"],
        notApplicable: backupsNotApplicable,
      },
      async (t) => {
        const c = ctx();
        const meant = backupsTarget(c.config, c.site);
        if (meant.kind === "none") return skipTest(t, meant.reason);
        const img = take<CanaryImage>("canary-image");
        const { volume } = take<{ volume: string }>("canary-volumes");
        // NOTE: the data a backup holds is read by restoring it (canary verify at the standard tier), not at plant.
        const b = canary("backup", { status: "available", volume, [shaFact(img.bytes)]: img.sha512 });
        const backup = await step(`back up the canary volume to ${c.name("canary-backup")}`, () =>
          c.create.backup("canary-backup", volume, { metadata: b.metadata }),
        );
        await record("backup", backup, b.facts);
        give("canary-backup", backup.id);
      },
    );

    test(
      {
        id: "canary-plant-server",
        title: `plant a canary server booted from a volume in AZ ${site}, left running`,
        where: "edge",
        tier: "standard",
        creates: ["canary server booted from a volume of the image in the edge AZ, left ACTIVE, kept"],
        holds: { volumes: 1, instances: 1 },
        provides: ["canary-server"],
        needs: ["canary-image"],
      },
      async () => {
        const c = ctx();
        const img = take<CanaryImage>("canary-image");
        const root = canary("server-volume", {
          status: "in-use",
          az: c.site.az,
          "rbd parent": imageParent(c, img.id),
          [shaFact(img.bytes)]: img.sha512,
        });
        const volume = await step(`create the canary server's volume ${c.name("canary-server-volume")} from the canary image`, () =>
          c.create.volume("canary-server-volume", { imageRef: img.id, metadata: root.metadata }),
        );
        const s = canary("server", { status: "ACTIVE", az: c.site.az, "host in az": "yes" });
        const server = await step(`boot canary server ${c.name("canary-server")} from it in AZ ${c.site.az}`, () =>
          c.create.serverFromVolume("canary-server", volume.id, { metadata: s.metadata }),
        );
        await record("server-volume", volume, root.facts);
        await record("server", server, s.facts);
        give("canary-server", server.id);
      },
    );

    test(
      {
        id: "canary-plant-record",
        title: `record ${site}'s canaries and keep them`,
        where: "edge",
        tier: "standard",
        needs: ["canary-image", "canary-volumes"],
      },
      async () => {
        const c = ctx();
        const missing = [...(takesBackups(c) && !maybe("canary-backup") ? ["backup"] : []), ...(!maybe("canary-server") ? ["server"] : [])];
        if (missing.length)
          throw new Error(`the ${missing.join(" and ")} canary did not plant: ${site}'s canaries are not kept, the run deletes them`);
        await step(`keep the ${planted.length} canaries: the run does not delete them`, async () => {
          const kept = c.tracker.keep();
          const ids = new Set(planted.map((p) => p.id));
          const strays = kept.filter((r) => !ids.has(r.id));
          await attachJson("kept", kept);
          // A resource the run made that is not a recorded canary would be left behind unrecorded: it is not kept.
          for (const r of strays) c.tracker.track(r);
        });
        await step(`write ${site}'s canaries for the manifest`, async () => {
          writeSiteRecord(run.runDir, { site, fsid: c.clusterOf(c.site), canaries: planted });
          await attachJson(`canaries at ${site}`, planted);
        });
      },
    );
  });
}

export default defineSuite("canary-plant", canaryPlantSuite);
