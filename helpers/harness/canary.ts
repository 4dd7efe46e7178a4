import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { formatZodIssues } from "../core/http.ts";

/**
 * Storage canaries: long-lived resources planted before an upgrade and verified after it. This module is the record
 * of a canary set (the manifest, and the same facts in each canary's own metadata, from which a lost manifest is
 * rebuilt) and the comparison of what plant recorded with what verify finds.
 */

import { CANARY_PROPERTY, CANARY_SET_ID } from "./naming.ts";

export { CANARY_PROPERTY, CANARY_SET_ID };

/** In the order plant creates them at a site: remove deletes them in the reverse order. */
export const CANARY_KINDS = ["image", "volume", "snapshot", "snapshot-volume", "backup", "server-volume", "server"] as const;
export type CanaryKind = (typeof CANARY_KINDS)[number];

/**
 * One canary and what plant saw of it, as named facts with string values ("stores": "central,dcn0",
 * "location dcn0 fsid": "<fsid>", "rbd parent": "images/<id>@snap", "sha512": "<hex>"). Facts are compared one
 * by one, so every difference is named.
 */
const canarySchema = z
  .object({
    kind: z.enum(CANARY_KINDS),
    id: z.string().min(1),
    name: z.string().min(1),
    facts: z.record(z.string(), z.string()),
    /**
     * Rebuilt only: the canary is named by its site's inventory on the set's other canaries, but nothing in the cloud
     * carries its own marks and facts (it is gone, or lost them).
     */
    onlyInInventory: z.literal(true).optional(),
  })
  .strict();
export type Canary = z.infer<typeof canarySchema>;

const siteSchema = z
  .object({
    site: z.string().min(1),
    /** The site's Ceph cluster as plant pinned it. */
    fsid: z.string().min(1).optional(),
    /** In the order plant created them: remove deletes them last in, first out. */
    canaries: z.array(canarySchema),
    /**
     * Rebuilt only: the set's record (on its canaries at the other sites) names this site, but no canary of the set
     * there is in the cloud, nor its inventory.
     */
    everyCanaryGone: z.literal(true).optional(),
  })
  .strict();
export type CanarySite = z.infer<typeof siteSchema>;

export const manifestSchema = z
  .object({
    version: z.literal(1),
    setId: z.string().regex(CANARY_SET_ID, "a canary set id: canary-<run id>"),
    cloud: z.object({ authUrl: z.string(), region: z.string(), project: z.string() }).strict(),
    plantedAt: z.string().datetime(),
    tier: z.enum(["read-only", "standard", "disruptive"]),
    sites: z.array(siteSchema).min(1, "at least one site"),
  })
  .strict();
export type CanaryManifest = z.infer<typeof manifestSchema>;

export class ManifestError extends Error {}

/** Reads a manifest, naming the file and each field that is wrong. */
export function readManifest(path: string): CanaryManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new ManifestError(`canary manifest ${path}: ${(e as Error).message}`);
  }
  const r = manifestSchema.safeParse(raw);
  if (!r.success) throw new ManifestError(`canary manifest ${path}:\n  ${formatZodIssues(r.error).join("\n  ")}`);
  const seen = new Set<string>();
  for (const s of r.data.sites) {
    if (seen.has(s.site)) throw new ManifestError(`canary manifest ${path}: site ${s.site} is listed twice`);
    seen.add(s.site);
  }
  return r.data;
}

/** Writes a manifest whole or not at all (a rename over the old one). */
export function writeManifest(path: string, m: CanaryManifest): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(manifestSchema.parse(m), null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

/** One way a canary differs from what plant recorded. */
export interface CanaryDifference {
  site: string;
  kind: CanaryKind;
  id: string;
  /** The fact that differs, or "exists" for a canary that is gone. */
  fact: string;
  planted: string;
  found: string;
}

export function formatDifference(d: CanaryDifference, o: { site?: boolean } = {}): string {
  return `${o.site === false ? "" : `[${d.site}] `}${d.kind} ${d.id}: ${d.fact} was ${d.planted}, is ${d.found}`;
}

/**
 * What verify found against what plant recorded, fact by fact. A canary verify could not find is one difference
 * ("exists"); a fact verify could not read is not a difference but a fact not verified, so found leaves it out and
 * lists it in unread.
 */
export function compareCanary(
  site: string,
  planted: Canary,
  found: { facts: Record<string, string>; unread?: string[] } | undefined,
): { differences: CanaryDifference[]; notVerified: string[] } {
  const base = { site, kind: planted.kind, id: planted.id };
  if (!found) return { differences: [{ ...base, fact: "exists", planted: "yes", found: "no (not found)" }], notVerified: [] };
  const unread = new Set(found.unread ?? []);
  const differences: CanaryDifference[] = [];
  const notVerified: string[] = [];
  for (const [fact, value] of Object.entries(planted.facts)) {
    if (unread.has(fact)) {
      notVerified.push(fact);
      continue;
    }
    const now = found.facts[fact];
    if (now === undefined) differences.push({ ...base, fact, planted: value, found: "(none)" });
    else if (now !== value) differences.push({ ...base, fact, planted: value, found: now });
  }
  for (const [fact, value] of Object.entries(found.facts))
    if (!(fact in planted.facts)) differences.push({ ...base, fact, planted: "(none)", found: value });
  return { differences, notVerified };
}

/** The metadata key of a canary's kind, beside CANARY_PROPERTY. */
export const CANARY_KIND_PROPERTY = "dcn_verify_canary_kind";
/** Each fact plant recorded is also in the canary's metadata, under this prefix and the fact's name. */
export const CANARY_FACT_PREFIX = "dcnv-fact:";

/**
 * The canary marks and facts a canary carries in the cloud (an image's properties, the metadata of the others).
 * NOTE: Nova takes metadata keys of letters, digits and "-_:. " only, and every API caps a value at 255 characters:
 * fact names and values are kept within both.
 */
export function canaryMetadata(setId: string, kind: CanaryKind, facts: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = { [CANARY_PROPERTY]: setId, [CANARY_KIND_PROPERTY]: kind };
  for (const [fact, value] of Object.entries(facts)) {
    if (!/^[A-Za-z0-9-_:. ]+$/.test(fact) || fact.length + CANARY_FACT_PREFIX.length > 255)
      throw new Error(`canary fact name '${fact}' cannot be a metadata key`);
    if (value.length > 255) throw new Error(`canary fact ${fact}: its value is longer than 255 characters`);
    out[`${CANARY_FACT_PREFIX}${fact}`] = value;
  }
  return out;
}

/** The set, kind and facts a resource's metadata (or an image's properties) carries, if it is a canary. */
export function canaryOf(
  metadata: Record<string, unknown> | null | undefined,
): { setId: string; kind: CanaryKind; facts: Record<string, string> } | undefined {
  const setId = metadata?.[CANARY_PROPERTY];
  const kind = metadata?.[CANARY_KIND_PROPERTY];
  if (typeof setId !== "string" || !CANARY_KINDS.includes(kind as CanaryKind)) return undefined;
  const facts: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata ?? {}))
    if (k.startsWith(CANARY_FACT_PREFIX) && typeof v === "string") facts[k.slice(CANARY_FACT_PREFIX.length)] = v;
  return { setId, kind: kind as CanaryKind, facts };
}

/** The plant run's id in a canary set id. */
export const plantRunOf = (setId: string) => setId.replace(/^canary-/, "");

/** The head a "sha512 of first N bytes" fact hashes, or undefined for another fact. */
export function headBytesOf(fact: string): number | undefined {
  const m = /^sha512 of first (\d+) bytes$/.exec(fact);
  return m ? Number(m[1]) : undefined;
}

export const shaFact = (bytes: number) => `sha512 of first ${bytes} bytes`;

/** What plant recorded at one site, written by that site's suite and joined into the manifest by the command. */
export function siteRecordPath(runDir: string, site: string): string {
  return join(runDir, site, "canaries.json");
}

export function writeSiteRecord(runDir: string, s: CanarySite): void {
  mkdirSync(join(runDir, s.site), { recursive: true });
  writeFileSync(siteRecordPath(runDir, s.site), `${JSON.stringify(siteSchema.parse(s), null, 2)}\n`, { mode: 0o600 });
}

export function readSiteRecord(runDir: string, site: string): CanarySite | undefined {
  const p = siteRecordPath(runDir, site);
  return existsSync(p) ? siteSchema.parse(JSON.parse(readFileSync(p, "utf8"))) : undefined;
}

/**
 * The set's inventory, in every canary's metadata beside its own facts, so that a manifest rebuilt from the cloud names
 * what is gone: its site's canaries (one key per kind, the ids of that kind) and the set's sites (a comma list, in
 * keys of at most 255 characters). Losing any canary leaves its site's inventory on the others; losing a whole site
 * leaves its name on the canaries of the other sites.
 */
export const CANARY_INVENTORY_PREFIX = "dcnv-inventory:";
export const CANARY_SITES_PREFIX = "dcnv-set-sites:";

/** The inventory metadata of the canaries at one site of the set (every site of the set, each site's own canaries). */
export function inventoryMetadata(sites: readonly Pick<CanarySite, "site" | "canaries">[], site: string): Record<string, string> {
  const here = sites.find((s) => s.site === site);
  if (!here) throw new Error(`the canary set has no site ${site}`);
  const out: Record<string, string> = {};
  for (const kind of CANARY_KINDS) {
    const ids = here.canaries.filter((c) => c.kind === kind).map((c) => c.id);
    if (!ids.length) continue;
    const value = ids.join(",");
    if (value.length > 255) throw new Error(`the ${kind} canaries at ${site}: their ids are longer than 255 characters`);
    out[`${CANARY_INVENTORY_PREFIX}${kind}`] = value;
  }
  let chunk = 0;
  for (const name of sites.map((s) => s.site)) {
    if (name.length > 255) throw new Error(`site name ${name} is longer than 255 characters`);
    const key = `${CANARY_SITES_PREFIX}${chunk}`;
    const value = out[key] === undefined ? name : `${out[key]},${name}`;
    if (value.length <= 255) out[key] = value;
    else out[`${CANARY_SITES_PREFIX}${++chunk}`] = name;
  }
  return out;
}

/** The inventory a canary's metadata carries (undefined parts: planted without one). */
export function inventoryOf(metadata: Record<string, unknown>): { kinds?: Map<CanaryKind, string[]>; sites?: string[] } {
  const kinds = new Map<CanaryKind, string[]>();
  const chunks: [number, string][] = [];
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== "string") continue;
    if (k.startsWith(CANARY_INVENTORY_PREFIX)) {
      const kind = k.slice(CANARY_INVENTORY_PREFIX.length) as CanaryKind;
      if (CANARY_KINDS.includes(kind)) kinds.set(kind, v.split(",").filter(Boolean));
    } else if (k.startsWith(CANARY_SITES_PREFIX)) chunks.push([Number(k.slice(CANARY_SITES_PREFIX.length)), v]);
  }
  const sites = chunks.sort(([a], [b]) => a - b).flatMap(([, v]) => v.split(",").filter(Boolean));
  return { ...(kinds.size ? { kinds } : {}), ...(chunks.length ? { sites } : {}) };
}

/** A resource as the cloud lists it, for rebuilding a manifest: its metadata (or an image's properties). */
export interface ListedResource {
  id: string;
  name: string;
  site: string;
  createdAt: string;
  metadata: Record<string, unknown>;
}

/**
 * A manifest rebuilt from the canaries of one set found in the cloud (their marks, facts and inventory): per site in
 * the config's order, each site's canaries in plant order (kind, then creation time). A canary its site's inventory
 * names but the cloud no longer lists with its marks is kept, onlyInInventory (its name is the one plant gave it); a
 * site the set's record names where nothing of the set is left is kept, everyCanaryGone.
 */
export function rebuildManifest(
  setId: string,
  found: ListedResource[],
  o: {
    cloud: CanaryManifest["cloud"];
    siteOrder: string[];
    fsids: Record<string, string | undefined>;
    /** The name plant gave a canary of this kind at this site. */
    nameOf: (site: string, kind: CanaryKind) => string;
  },
): CanaryManifest | undefined {
  const sites = new Map<string, (Canary & { createdAt: string })[]>();
  const inventories = new Map<string, Map<CanaryKind, Set<string>>>();
  const setSites = new Set<string>();
  let plantedAt: string | undefined;
  const at = (site: string) => {
    if (!sites.has(site)) sites.set(site, []);
    return sites.get(site)!;
  };
  for (const r of found) {
    const c = canaryOf(r.metadata);
    if (c?.setId !== setId) continue;
    at(r.site).push({ kind: c.kind, id: r.id, name: r.name, facts: c.facts, createdAt: r.createdAt });
    if (!plantedAt || r.createdAt < plantedAt) plantedAt = r.createdAt;
    const inv = inventoryOf(r.metadata);
    for (const s of inv.sites ?? []) setSites.add(s);
    if (!inventories.has(r.site)) inventories.set(r.site, new Map());
    for (const [kind, ids] of inv.kinds ?? []) {
      const m = inventories.get(r.site)!;
      if (!m.has(kind)) m.set(kind, new Set());
      for (const id of ids) m.get(kind)!.add(id);
    }
  }
  if (!sites.size) return undefined;
  for (const [site, kinds] of inventories)
    for (const [kind, ids] of kinds)
      for (const id of ids)
        if (!sites.get(site)!.some((c) => c.id === id))
          at(site).push({
            kind,
            id,
            name: o.nameOf(site, kind),
            facts: {},
            onlyInInventory: true,
            createdAt: "",
          });
  for (const s of setSites) at(s);
  const order = (s: string) => (o.siteOrder.includes(s) ? o.siteOrder.indexOf(s) : o.siteOrder.length);
  return manifestSchema.parse({
    version: 1,
    setId,
    cloud: o.cloud,
    plantedAt: new Date(plantedAt!).toISOString(),
    tier: "standard",
    sites: [...sites]
      .sort(([a], [b]) => order(a) - order(b) || a.localeCompare(b))
      .map(([site, canaries]) => ({
        site,
        ...(o.fsids[site] ? { fsid: o.fsids[site] } : {}),
        canaries: canaries
          .sort(
            (a, b) =>
              CANARY_KINDS.indexOf(a.kind) - CANARY_KINDS.indexOf(b.kind) ||
              Number(a.onlyInInventory ?? false) - Number(b.onlyInInventory ?? false) ||
              a.createdAt.localeCompare(b.createdAt),
          )
          .map(({ createdAt: _, ...c }) => c),
        ...(canaries.length ? {} : { everyCanaryGone: true }),
      })),
  });
}
