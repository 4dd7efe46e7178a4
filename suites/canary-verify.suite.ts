import type { TestContext } from "vitest";
import { readCanary, verifyCanary } from "../helpers/checks/canary.ts";
import { imageParent } from "../helpers/checks/clones.ts";
import { defect } from "../helpers/checks/evidence.ts";
import { copyImage } from "../helpers/checks/images.ts";
import { parentSpec } from "../helpers/ceph/rbd.ts";
import { backupsTarget, sitePools } from "../helpers/config/pools.ts";
import { WaitError } from "../helpers/core/wait.ts";
import { backupsNotApplicable } from "../helpers/harness/catalog.ts";
import { ProductDefect } from "../helpers/harness/failure-kind.ts";
import { defineSuite, type SiteSuite, skipTest } from "../helpers/harness/suite.ts";
import { attachJson, step } from "../helpers/harness/steps.ts";
import { type Canary, type CanaryKind, formatDifference, headBytesOf } from "../helpers/harness/canary.ts";

/**
 * dcn-verify canary verify: each canary of the set at this site against what plant recorded (the same stores and
 * clusters, the same rbd parents and protected snapshots, the same data, still running); at the standard tier, new
 * work still built on the old canaries.
 */
function canaryVerifySuite(s: SiteSuite): void {
  const { ctx, site, run, test } = s;

  function record() {
    const m = run.canary?.manifest;
    if (!m) throw new Error("canary verify: the run carries no manifest");
    return m.sites.find((s) => s.site === site);
  }

  function canaries(...kinds: CanaryKind[]): Canary[] {
    return (record()?.canaries ?? []).filter((c) => kinds.includes(c.kind));
  }

  const setId = () => run.canary!.setId;
  const allGone = () =>
    `every canary of ${setId()} at ${site} is gone: the set's record on its canaries at the other sites names ${site}, ` +
    `and nothing in the cloud carries the set's mark there (nor its inventory)`;
  const noneRecorded = (kinds: CanaryKind[]) =>
    `no ${kinds.join(" or ")} canary: the manifest of ${setId()} records none at ${site}` +
    (run.canary!.rebuilt ? " (rebuilt from the cloud: neither a canary nor its site's inventory names one)" : "");

  /**
   * Verifies every canary of these kinds, each in a step of its own; fails naming every difference at the site. A test
   * with nothing to compare, or a fact it could not read, ends not verified (skipped with the reason), never passed.
   */
  async function verifyAll(t: TestContext, kinds: CanaryKind[], o: { skip?: (fact: string) => boolean } = {}): Promise<void> {
    if (record()?.everyCanaryGone) defect(ctx(), allGone());
    const list = canaries(...kinds);
    if (!list.length) return skipTest(t, noneRecorded(kinds));
    const differences = [];
    const unread: string[] = [];
    for (const c of list) {
      try {
        unread.push(...(await verifyCanary(ctx(), c, o)).unread.map((f) => `${c.kind} ${c.id}: ${f}`));
      } catch (e) {
        if (!(e instanceof ProductDefect)) throw e;
        differences.push(e.message.replace(/^\[[^\]]+\] /, ""));
      }
    }
    if (differences.length) defect(ctx(), differences.join("; "));
    if (unread.length) return skipTest(t, `not verified: ${unread.join(", ")}: the site's Ceph cannot be read (transport none)`);
  }

  /** The one canary of a kind a later check builds on, or why that check cannot be tried (it ends not verified). */
  function basis(kind: CanaryKind): { canary: Canary } | { why: string } {
    if (record()?.everyCanaryGone) return { why: allGone() };
    const [c] = canaries(kind);
    if (!c) return { why: noneRecorded([kind]) };
    if (c.onlyInInventory) return { why: `the ${kind} canary ${c.id} is gone (its own test fails on it): there is nothing to build on` };
    return { canary: c };
  }

  s.describe(`canaries at ${site}`, () => {
    test(
      {
        id: "canary-image",
        title: `the canary image is in the same stores, on the same clusters, with the same data`,
        where: "edge",
        tier: "read-only",
      },
      (t) => verifyAll(t, ["image"]),
    );

    test(
      {
        id: "canary-volumes",
        title: `the canary volumes are still clones of the same parents, with the same data, and the snapshot protected`,
        where: "edge",
        tier: "read-only",
      },
      (t) => verifyAll(t, ["volume", "snapshot", "snapshot-volume", "server-volume"]),
    );

    test(
      {
        id: "canary-backup",
        title: `the canary backup is still listed and available`,
        where: "edge",
        tier: "read-only",
        notApplicable: backupsNotApplicable,
      },
      async (t) => {
        const meant = backupsTarget(ctx().config, ctx().site);
        if (meant.kind === "none") return skipTest(t, meant.reason);
        return verifyAll(t, ["backup"], { skip: (f) => headBytesOf(f) !== undefined });
      },
    );

    test(
      {
        id: "canary-backup-restore",
        title: `the canary backup still restores to the same data`,
        where: "edge",
        tier: "standard",
        creates: ["volume restored from the canary backup (deleted at the end)"],
        holds: { volumes: 1 },
        notApplicable: backupsNotApplicable,
      },
      async (t) => {
        const c = ctx();
        const meant = backupsTarget(c.config, c.site);
        if (meant.kind === "none") return skipTest(t, meant.reason);
        const found = basis("backup");
        if ("why" in found) return skipTest(t, found.why);
        const backup = found.canary;
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
        await attachJson("restored data", { planted: backup.facts[fact], found: now?.facts[fact], unread: now?.unread });
        if (now?.unread.includes(fact))
          return skipTest(t, `the restored volume's ${fact}: the site's Ceph cannot be read (transport none)`);
        await step(`the restored volume's ${fact} is the canary's`, async () => {
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
      },
    );

    test(
      {
        id: "canary-server",
        title: `the canary server is still ACTIVE in AZ ${site}, on a host of that AZ`,
        where: "edge",
        tier: "read-only",
      },
      (t) => verifyAll(t, ["server"]),
    );

    test(
      {
        id: "canary-new-clone",
        title: `a new volume from the canary image at ${site} is still a copy-on-write clone of it`,
        where: "edge",
        tier: "standard",
        creates: ["volume from the canary image in the edge AZ (deleted at the end)"],
        holds: { volumes: 1 },
      },
      async (t) => {
        const c = ctx();
        const b = basis("image");
        if ("why" in b) return skipTest(t, b.why);
        const image = b.canary;
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
      },
    );

    test(
      {
        id: "canary-copy",
        title: `the canary image still copies to a store that lacks it`,
        where: "edge",
        tier: "standard",
        creates: ["a copy of the canary image in another edge store (deleted from that store at the end)"],
      },
      async (t) => {
        const c = ctx();
        const b = basis("image");
        if ("why" in b) return skipTest(t, b.why);
        const image = b.canary;
        const now = await step(`show the canary image ${image.id}`, () => c.clients.image.showImage(image.id));
        const target = c.sites.find((s) => s !== c.site && s !== c.central && !now.stores.includes(s.store));
        if (!target)
          return skipTest(t, `copy-image of the canary image: every store of the config holds it already (${now.stores.join(", ")})`);
        c.create.imageCopy(image.id, image.name, target.store);
        const copied = await copyImage(c, image.id, [target.store]);
        await attachJson("image after the copy", { stores: copied.stores });
      },
    );
  });
}

export default defineSuite("canary-verify", canaryVerifySuite);
