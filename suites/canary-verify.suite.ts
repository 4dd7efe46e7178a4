import { describe } from "vitest";
import { readCanary, verifyCanary } from "../helpers/checks/canary.ts";
import { imageParent } from "../helpers/checks/clones.ts";
import { defect } from "../helpers/checks/evidence.ts";
import { copyImage } from "../helpers/checks/images.ts";
import { parentSpec } from "../helpers/ceph/rbd.ts";
import { sitePools } from "../helpers/config/pools.ts";
import { WaitError } from "../helpers/core/wait.ts";
import { ProductDefect } from "../helpers/harness/failure-kind.ts";
import type { SiteSuite } from "../helpers/harness/suite.ts";
import { attachJson, notVerified, step } from "../helpers/harness/steps.ts";
import { type Canary, type CanaryKind, formatDifference, headBytesOf } from "../helpers/ops/canary.ts";

/**
 * dcn-verify canary verify: each canary of the set at this site against what plant recorded (the same stores and
 * clusters, the same rbd parents and protected snapshots, the same data, still running); at the standard tier, new
 * work still built on the old canaries.
 */
export default function canaryVerifySuite(s: SiteSuite): void {
  const { ctx, site, run, test } = s;

  function canaries(...kinds: CanaryKind[]): Canary[] {
    const m = run.canary?.manifest;
    if (!m) throw new Error("canary verify: the run carries no manifest");
    return (m.sites.find((s) => s.site === site)?.canaries ?? []).filter((c) => kinds.includes(c.kind));
  }

  /** Verifies every canary of these kinds, each in a step of its own; fails naming every difference at the site. */
  async function verifyAll(kinds: CanaryKind[], o: { skip?: (fact: string) => boolean } = {}): Promise<void> {
    const list = canaries(...kinds);
    if (!list.length) {
      await notVerified(`no ${kinds.join(" or ")} canary`, `the manifest of ${run.canary!.setId} records none at ${site}`);
      return;
    }
    const differences = [];
    for (const c of list) {
      try {
        await verifyCanary(ctx(), c, o);
      } catch (e) {
        if (!(e instanceof ProductDefect)) throw e;
        differences.push(e.message.replace(/^\[[^\]]+\] /, ""));
      }
    }
    if (differences.length) defect(ctx(), differences.join("; "));
  }

  describe.sequential(`canaries at ${site}`, () => {
    test("canary-image", `the canary image is in the same stores, on the same clusters, with the same data`, () => verifyAll(["image"]));

    test("canary-volumes", `the canary volumes are still clones of the same parents, with the same data, and the snapshot protected`, () =>
      verifyAll(["volume", "snapshot", "snapshot-volume", "server-volume"]),
    );

    test("canary-backup", `the canary backup is still listed and available`, () =>
      verifyAll(["backup"], { skip: (f) => headBytesOf(f) !== undefined }),
    );

    test("canary-backup-restore", `the canary backup still restores to the same data`, async () => {
      const c = ctx();
      const [backup] = canaries("backup");
      if (!backup) return notVerified("no backup canary", `the manifest of ${run.canary!.setId} records none at ${site}`);
      const fact = Object.keys(backup.facts).find((f) => headBytesOf(f) !== undefined)!;
      const b = await step(`show the canary backup ${backup.id}`, () => c.clients.volume.showBackup(backup.id));
      const target = await step(`create a volume of ${b.size ?? c.config.volume.sizeGiB} GiB to restore into`, () =>
        c.create.volume("canary-restore", { size: b.size ?? c.config.volume.sizeGiB }),
      );
      await step(`restore the canary backup ${backup.id} into ${target.id}`, () => c.clients.volume.restoreBackup(backup.id, target.id));
      await c.create.volumeStatus(target.id, "available").catch((e: unknown) => {
        if (e instanceof WaitError)
          defect(c, `the canary backup ${backup.id} no longer restores: ${e.message.replace(/^\[[^\]]+\] /, "")}`);
        throw e;
      });
      const now = await readCanary(c, { kind: "volume", id: target.id }, [fact]);
      await step(`the restored volume's ${fact} is the canary's`, async () => {
        await attachJson("restored data", { planted: backup.facts[fact], found: now?.facts[fact], unread: now?.unread });
        if (now?.unread.includes(fact)) return notVerified(fact, "the site's Ceph cannot be read (transport none)");
        if (now?.facts[fact] !== backup.facts[fact])
          defect(
            c,
            formatDifference(
              {
                site,
                kind: "backup",
                id: backup.id,
                fact: `restored ${fact}`,
                planted: backup.facts[fact]!,
                found: now?.facts[fact] ?? "(none)",
              },
              { site: false },
            ),
          );
      });
    });

    test("canary-server", `the canary server is still ACTIVE in AZ ${site}, on a host of that AZ`, () => verifyAll(["server"]));

    test("canary-new-clone", `a new volume from the canary image at ${site} is still a copy-on-write clone of it`, async () => {
      const c = ctx();
      const [image] = canaries("image");
      if (!image) return notVerified("no image canary", `the manifest of ${run.canary!.setId} records none at ${site}`);
      const v = await step(`create a volume from the canary image ${image.id} in AZ ${c.site.az}`, () =>
        c.create.volume("canary-new-clone", { imageRef: image.id }),
      );
      const want = imageParent(c, image.id);
      await step(`volume-${v.id} on ${site}'s cluster has parent ${want}`, async () => {
        const info = await c.probe(c.site).rbdInfo(sitePools(c.config, c.site).volumes, `volume-${v.id}`);
        await attachJson(`rbd info volume-${v.id}`, info);
        const got = info.parent ? parentSpec(info.parent) : undefined;
        if (got !== want)
          defect(
            c,
            `a new volume ${v.id} from the canary image ${image.id} ` +
              (got
                ? `has parent ${got}, not ${want}`
                : `is a full copy, not a copy-on-write clone of ${want}: Glance no longer shows Cinder the image's location`),
          );
      });
    });

    test("canary-copy", `the canary image still copies to a store that lacks it`, async () => {
      const c = ctx();
      const [image] = canaries("image");
      if (!image) return notVerified("no image canary", `the manifest of ${run.canary!.setId} records none at ${site}`);
      const now = await step(`show the canary image ${image.id}`, () => c.clients.image.showImage(image.id));
      const target = c.sites.find((s) => s !== c.site && s !== c.central && !now.stores.includes(s.store));
      if (!target)
        return notVerified("copy-image of the canary image", `every store of the config holds it already (${now.stores.join(", ")})`);
      c.create.imageCopy(image.id, image.name, target.store);
      const copied = await copyImage(c, image.id, [target.store]);
      await attachJson("image after the copy", { stores: copied.stores });
    });
  });
}
