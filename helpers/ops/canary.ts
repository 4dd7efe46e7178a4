import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { z } from "zod";
import { formatZodIssues } from "../core/http.ts";

/**
 * Storage canaries (issue 15): long-lived resources planted before an upgrade and verified after it. This module is
 * the record of a canary set (the manifest) and the comparison of what plant recorded with what verify finds; the
 * commands that plant, verify and remove are not written yet.
 */

/** The mark of a canary set, beside the run's (RUN_PROPERTY): an image property, or the metadata of the others. */
export const CANARY_PROPERTY = "dcn_verify_canary";

/** A canary set id: `canary-<run id>`, the plant run's id. */
export const CANARY_SET_ID = /^canary-\d{8}t\d{6}-[0-9a-f]{4}$/;

export const CANARY_KINDS = ["image", "volume", "snapshot", "snapshot-volume", "backup", "server"] as const;
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

export function formatDifference(d: CanaryDifference): string {
  return `[${d.site}] ${d.kind} ${d.id}: ${d.fact} was ${d.planted}, is ${d.found}`;
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
