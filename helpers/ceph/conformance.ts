import { z } from "zod";
import type { CephProbe } from "./probe.ts";

export const poolDetailSchema = z.array(z.looseObject({ pool_name: z.string(), size: z.number(), min_size: z.number().optional() }));
export type PoolDetail = z.infer<typeof poolDetailSchema>[number];

export async function poolDetails(probe: CephProbe): Promise<PoolDetail[]> {
  const r = await probe.run(["ceph", "osd", "pool", "ls", "detail", "--format", "json"]);
  return poolDetailSchema.parse(JSON.parse(r.stdout));
}

export interface Caps {
  entity: string;
  mon: string;
  osd: string;
}

const authSchema = z.array(
  z.looseObject({ entity: z.string(), caps: z.looseObject({ mon: z.string().optional(), osd: z.string().optional() }) }),
);

/**
 * A cephx user's capabilities, read with `ceph auth get --format json`. That output holds the key:
 * only entity and caps leave this function, and a parse error never quotes the output.
 */
export async function capsOf(probe: CephProbe, entity: string): Promise<Caps> {
  const r = await probe.run(["ceph", "auth", "get", entity, "--format", "json"]);
  let parsed: z.infer<typeof authSchema>;
  try {
    parsed = authSchema.parse(JSON.parse(r.stdout));
  } catch {
    throw new Error(`ceph auth get ${entity}: the output is not the JSON expected (not shown: it holds the key)`);
  }
  const e = parsed.find((x) => x.entity === entity);
  if (!e) throw new Error(`ceph auth get ${entity}: no such entity in the output`);
  return { entity, mon: e.caps.mon ?? "", osd: e.caps.osd ?? "" };
}

export interface Grant {
  text: string;
  /** undefined: every pool. */
  pool?: string;
  write: boolean;
  read: boolean;
}

/** "profile rbd pool=volumes, profile rbd-read-only pool=images, allow rwx pool=x, allow *" as grants. */
export function osdGrants(osd: string): Grant[] {
  return osd
    .split(",")
    .map((g) => g.trim())
    .filter(Boolean)
    .map((text) => {
      const pool = /\bpool=(\S+)/.exec(text)?.[1];
      const profile = /^profile\s+(\S+)/.exec(text)?.[1];
      const allow = /^allow\s+(\S+)/.exec(text)?.[1] ?? "";
      const write = profile ? profile === "rbd" : allow === "*" || /w/.test(allow);
      const read = profile ? profile === "rbd" || profile === "rbd-read-only" : allow === "*" || /r/.test(allow);
      return { text, pool, write, read };
    });
}

export interface CapsRule {
  /** Pools the user must be able to write. */
  writes: string[];
  /** Pools it must be able to read, and not write. */
  readsOnly: string[];
}

/** What is wrong with a user's caps against the rule: broader than the guide's, or missing. */
export function judgeCaps(caps: Caps, rule: CapsRule): string[] {
  const findings: string[] = [];
  const grants = osdGrants(caps.osd);
  for (const g of grants.filter((x) => x.write && !x.pool)) findings.push(`${caps.entity} may write every pool (osd '${g.text}')`);
  for (const g of grants.filter((x) => x.write && x.pool && !rule.writes.includes(x.pool)))
    findings.push(`${caps.entity} may write pool ${g.pool} (osd '${g.text}'), beyond ${rule.writes.join(", ")}`);
  for (const p of rule.writes)
    if (!grants.some((g) => g.write && (!g.pool || g.pool === p))) findings.push(`${caps.entity} cannot write pool ${p}`);
  for (const p of rule.readsOnly)
    if (!grants.some((g) => g.read && (!g.pool || g.pool === p))) findings.push(`${caps.entity} cannot read pool ${p}`);
  findings.push(...judgeMonCaps(caps));
  return findings;
}

/**
 * The mon caps against the Ceph guide's `mon 'profile rbd'`: each grant beyond it is a finding naming the user and the grant.
 * NOTE: `allow r` (the older guide's mon cap) only reads the maps, so it is no broader; anything that writes, executes,
 * grants `*`, another profile or a command is.
 */
export function judgeMonCaps(caps: Caps): string[] {
  const grants = caps.mon
    .split(",")
    .map((g) => g.trim())
    .filter(Boolean);
  if (!grants.length) return [`${caps.entity} has no mon caps (the guide gives 'profile rbd'): it cannot reach the cluster`];
  return grants
    .filter((g) => !/^profile\s+rbd$/.test(g) && !/^allow\s+r$/.test(g))
    .map((g) => `${caps.entity} has mon '${g}'${grants.length > 1 ? ` (of '${caps.mon}')` : ""}, broader than the guide's 'profile rbd'`);
}

export const rbdDuSchema = z.looseObject({
  images: z.array(
    z.looseObject({ name: z.string(), snapshot: z.string().optional(), provisioned_size: z.number(), used_size: z.number() }),
  ),
});

/** Provisioned and used bytes of an rbd image, its snapshots left out. */
export async function rbdUsage(probe: CephProbe, pool: string, image: string): Promise<{ provisioned: number; used: number }> {
  const r = await probe.run(["rbd", "du", `${pool}/${image}`, "--format", "json"]);
  const head = rbdDuSchema.parse(JSON.parse(r.stdout)).images.filter((i) => i.name === image);
  const rows = head.filter((i) => !i.snapshot);
  const row = rows[0] ?? head[0];
  if (!row) throw new Error(`rbd du ${pool}/${image}: no row for the image`);
  // NOTE: a Glance image's data lives in its snapshot 'snap'; the head shares it, so take the larger use.
  return { provisioned: row.provisioned_size, used: Math.max(...head.map((i) => i.used_size)) };
}
