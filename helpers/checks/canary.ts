import { isImageGone, isNoCephAccess } from "../ceph/probe.ts";
import { parentSpec } from "../ceph/rbd.ts";
import { locationForStore, parseRbdLocation } from "../clients/image.ts";
import { sitePools } from "../config/pools.ts";
import type { Site } from "../config/schema.ts";
import { isApiError } from "../core/http.ts";
import type { SiteContext } from "../harness/context.ts";
import { attachJson, notVerified, step } from "../harness/steps.ts";
import { type Canary, type CanaryDifference, compareCanary, formatDifference, headBytesOf } from "../harness/canary.ts";
import { defect } from "./evidence.ts";

/** What the cloud and the site's Ceph show of a canary now, fact by fact; what could not be read is in unread. */
export interface FactsRead {
  facts: Record<string, string>;
  unread: string[];
}

const siteNamed = (c: SiteContext, name: string): Site | undefined => c.sites.find((s) => s.name === name);

/**
 * Reads the facts planted names (their names say which store, site or head they are about) as they are now.
 * undefined: the API no longer has the canary. A fact whose site has no Ceph access (transport none) is unread.
 */
export async function readCanary(c: SiteContext, canary: Pick<Canary, "kind" | "id">, names: string[]): Promise<FactsRead | undefined> {
  const facts: Record<string, string> = {};
  const unread: string[] = [];
  const ceph = async (fact: string, read: () => Promise<string>) => {
    try {
      facts[fact] = await read();
    } catch (e) {
      if (isNoCephAccess(e)) unread.push(fact);
      else if (isImageGone(e)) facts[fact] = "missing";
      else throw e;
    }
  };
  const shown = async <T>(show: () => Promise<T>): Promise<T | undefined> =>
    show().catch((e: unknown) => {
      if (isApiError(e, 404)) return undefined;
      throw e;
    });
  const pools = sitePools(c.config, c.site);
  const sha = async (fact: string, site: Site, spec: string) => {
    const bytes = headBytesOf(fact);
    if (bytes === undefined) return;
    await ceph(
      fact,
      async () => (await c.probe(site).exportHead(spec, bytes, { timeoutMs: c.config.timeouts.volumeUpload * 1000 })).sha512,
    );
  };
  switch (canary.kind) {
    case "image": {
      const image = await shown(() => c.clients.image.showImage(canary.id));
      if (!image) return undefined;
      facts.status = image.status;
      facts.size = String(image.size ?? "");
      facts.stores = [...image.stores].sort().join(",");
      for (const name of names) {
        const loc = /^location (\S+) fsid$/.exec(name);
        if (loc) {
          const l = locationForStore(image, loc[1]!);
          facts[name] = l ? parseRbdLocation(l.url).fsid : "(no location)";
        }
        const at = /^(snapshot|sha512) at (\S+)$/.exec(name);
        const site = at ? siteNamed(c, at[2]!) : undefined;
        if (!at || !site) continue;
        const pool = sitePools(c.config, site).images;
        if (at[1] === "snapshot")
          await ceph(name, async () => {
            const snap = (await c.probe(site).rbdSnapshots(pool, canary.id)).find((s) => s.name === c.config.rbd.imageSnapshot);
            return snap ? (snap.protected ? "protected" : "unprotected") : "missing";
          });
        else
          await ceph(
            name,
            async () =>
              (
                await c.probe(site).exportHead(`${pool}/${canary.id}@${c.config.rbd.imageSnapshot}`, image.size ?? 0, {
                  timeoutMs: c.config.timeouts.volumeUpload * 1000,
                })
              ).sha512,
          );
      }
      break;
    }
    case "volume":
    case "snapshot-volume":
    case "server-volume": {
      const v = await shown(() => c.clients.volume.showVolume(canary.id));
      if (!v) return undefined;
      facts.status = v.status;
      facts.az = v.availability_zone ?? "";
      const rbdName = `volume-${canary.id}`;
      if (names.includes("rbd parent"))
        await ceph("rbd parent", async () => {
          const info = await c.probe(c.site).rbdInfo(pools.volumes, rbdName);
          return info.parent ? parentSpec(info.parent) : "none (not a clone)";
        });
      for (const name of names) await sha(name, c.site, `${pools.volumes}/${rbdName}`);
      break;
    }
    case "snapshot": {
      const s = await shown(() => c.clients.volume.showSnapshot(canary.id));
      if (!s) return undefined;
      facts.status = s.status;
      facts.volume = s.volume_id;
      if (names.includes("rbd snapshot"))
        await ceph("rbd snapshot", async () => {
          const snap = (await c.probe(c.site).rbdSnapshots(pools.volumes, `volume-${s.volume_id}`)).find(
            (x) => x.name === `snapshot-${canary.id}`,
          );
          return snap ? (snap.protected ? "protected" : "unprotected") : "missing";
        });
      break;
    }
    case "backup": {
      const b = await shown(() => c.clients.volume.showBackup(canary.id));
      if (!b) return undefined;
      facts.status = b.status;
      facts.volume = b.volume_id ?? "";
      break;
    }
    case "server": {
      const s = await shown(() => c.clients.compute.showServer(canary.id));
      if (!s) return undefined;
      facts.status = s.status;
      facts.az = s["OS-EXT-AZ:availability_zone"] ?? "";
      if (names.includes("host in az")) {
        const host = s["OS-EXT-SRV-ATTR:host"];
        const zone = (await c.clients.compute.listAvailabilityZones(true)).find((z) => z.zoneName === c.site.az);
        if (!host || !zone?.hosts) unread.push("host in az");
        else facts["host in az"] = host in zone.hosts ? "yes" : `no (${host})`;
      }
      break;
    }
  }
  return { facts: Object.fromEntries(Object.entries(facts).filter(([k]) => names.includes(k))), unread };
}

/**
 * One canary against what plant recorded: every difference named (site, canary, fact, then and now) fails the step;
 * what could not be read is not verified, and returned in unread. `skip` leaves facts to another test (a backup's
 * data, read by its restore). A canary known only from its site's inventory (a rebuilt manifest) is looked up by its
 * id: gone is a difference, and so is a canary the cloud still has without the set's marks and facts.
 */
export async function verifyCanary(
  c: SiteContext,
  planted: Canary,
  o: { skip?: (fact: string) => boolean } = {},
): Promise<{ differences: CanaryDifference[]; unread: string[] }> {
  if (planted.onlyInInventory)
    return step(`the ${planted.kind} canary ${planted.name} (${planted.id}), named by its site's inventory, is still there`, async () => {
      const now = await readCanary(c, planted, []);
      const differences: CanaryDifference[] = now
        ? [
            {
              site: c.site.name,
              kind: planted.kind,
              id: planted.id,
              fact: "the set's marks and facts",
              planted: "in its metadata",
              found: "gone (the cloud has the canary without them: its facts cannot be compared)",
            },
          ]
        : compareCanary(c.site.name, planted, undefined).differences;
      await attachJson(`${planted.kind} ${planted.id}: named by the inventory, found`, { found: now ? "yes" : "no", differences });
      defect(c, differences.map((d) => formatDifference(d, { site: false })).join("; "));
    });
  const facts = Object.fromEntries(Object.entries(planted.facts).filter(([f]) => !o.skip?.(f)));
  const want = { ...planted, facts };
  return step(`the ${planted.kind} canary ${planted.name} (${planted.id}) is as plant recorded it`, async () => {
    const now = await readCanary(c, want, Object.keys(facts));
    const { differences, notVerified: unread } = compareCanary(c.site.name, want, now);
    await attachJson(`${planted.kind} ${planted.id}: planted and found`, {
      planted: facts,
      found: now?.facts ?? null,
      differences,
      unread,
    });
    for (const f of unread) await notVerified(`${planted.kind} ${planted.id}: ${f}`, "the site's Ceph cannot be read (transport none)");
    if (differences.length) defect(c, differences.map((d) => formatDifference(d, { site: false })).join("; "));
    return { differences, unread };
  });
}

/** At plant: the canary, read back, holds exactly the facts it is recorded with, or plant fails naming each. */
export async function confirmPlanted(c: SiteContext, planted: Canary, o: { skip?: (fact: string) => boolean } = {}): Promise<void> {
  const canary = { ...planted, facts: Object.fromEntries(Object.entries(planted.facts).filter(([f]) => !o.skip?.(f))) };
  await step(`read the ${canary.kind} canary back: ${Object.keys(canary.facts).join(", ")}`, async () => {
    const now = await readCanary(c, canary, Object.keys(canary.facts));
    const { differences, notVerified: unread } = compareCanary(c.site.name, canary, now);
    await attachJson(`${canary.kind} ${canary.id}`, { expected: canary.facts, found: now?.facts ?? null, unread });
    if (differences.length)
      defect(c, `the canary is not as it should be at plant: ${differences.map((d) => formatDifference(d, { site: false })).join("; ")}`);
    for (const f of unread) await notVerified(`${canary.kind} ${canary.id}: ${f}`, "the site's Ceph cannot be read (transport none)");
  });
}
