import { z } from "zod";
import type { SitePools } from "../config/pools.ts";
import type { CephUser, PoolRole } from "../config/schema.ts";
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

/** What `ceph auth get` gave: the caps, no such user, or the probe's user may not read them. */
export type CapsRead = { kind: "caps"; caps: Caps } | { kind: "missing"; detail: string } | { kind: "unreadable"; detail: string };

/**
 * The caps in `ceph auth get <entity> --format json` output. The probe strips the key; should one be
 * left, only entity and caps leave this function, and a parse error never quotes the output.
 */
export function parseAuthGet(stdout: string, entity: string): Caps {
  let parsed: z.infer<typeof authSchema>;
  try {
    parsed = authSchema.parse(JSON.parse(stdout));
  } catch {
    throw new Error(`ceph auth get ${entity}: the output is not the JSON expected (not shown: it may hold the key)`);
  }
  const e = parsed.find((x) => x.entity === entity);
  if (!e) throw new Error(`ceph auth get ${entity}: no such entity in the output`);
  return { entity, mon: e.caps.mon ?? "", osd: e.caps.osd ?? "" };
}

/**
 * `ceph auth get`'s outcome read from its exit code and stderr: ENOENT (exit 2) is no such user,
 * EACCES (exit 13) is a probe user that may not read caps (the mon's auth commands need 'x').
 */
export function readAuthGet(r: { stdout: string; stderr: string; exitCode: number }, entity: string): CapsRead {
  const err = r.stderr.trim().split("\n").at(-1) ?? "";
  if (r.exitCode === 0) return { kind: "caps", caps: parseAuthGet(r.stdout, entity) };
  if (r.exitCode === 2 || /\bENOENT\b/.test(err)) return { kind: "missing", detail: err || `exit ${r.exitCode}` };
  if (r.exitCode === 13 || /\bEACCES\b|access denied/i.test(err)) return { kind: "unreadable", detail: err || `exit ${r.exitCode}` };
  throw new Error(`ceph auth get ${entity} exited ${r.exitCode}${err ? `: ${err}` : ""}`);
}

/** A cephx user's capabilities, read with `ceph auth get --format json`. */
export async function capsOf(probe: CephProbe, entity: string): Promise<CapsRead> {
  const r = await probe.run(["ceph", "auth", "get", entity, "--format", "json"], { reject: false });
  return readAuthGet(r, entity);
}

export interface Grant {
  text: string;
  /** undefined: every pool. */
  pool?: string;
  /** Only objects named so (`object_prefix`) or in one namespace: never a pool's rbd images as a whole. */
  narrowed?: string;
  read: boolean;
  write: boolean;
  /** Object class methods that read or write (x, class-read, class-write): rbd cannot open an image without them. */
  classRead: boolean;
  classWrite: boolean;
  /** An osd profile other than rbd and rbd-read-only. */
  otherProfile?: string;
}

const PERMS = /^(?:[rwx]+|\*|class-read|class-write)$/;

/** One osd grant: `profile rbd[-read-only] [pool=p]`, `allow <perms> [pool=p] [namespace=n] [object_prefix x]`, or the older `allow pool p rwx`. */
function osdGrant(text: string): Grant {
  const [verb, ...words] = text.split(/\s+/);
  const g: Grant = { text, read: false, write: false, classRead: false, classWrite: false };
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const next = () => words[++i] ?? "";
    if (w.startsWith("pool=")) g.pool = w.slice(5);
    else if (w === "pool") g.pool = next();
    else if (w.startsWith("namespace=")) g.narrowed = `namespace ${w.slice(10)}`;
    else if (w === "namespace") g.narrowed = `namespace ${next()}`;
    else if (w === "object_prefix") g.narrowed = `object_prefix ${next()}`;
    else if (w === "tag") g.pool = `tag ${next()} ${next()}`;
    else if (w === "network") next();
    else if (verb === "profile" && !g.otherProfile && i === 0) {
      if (w === "rbd") Object.assign(g, { read: true, write: true, classRead: true, classWrite: true });
      else if (w === "rbd-read-only") Object.assign(g, { read: true, classRead: true });
      else g.otherProfile = w;
    } else if (verb === "allow" && PERMS.test(w)) {
      const all = w === "*";
      g.read ||= all || (/^[rwx]+$/.test(w) && w.includes("r"));
      g.write ||= all || (/^[rwx]+$/.test(w) && w.includes("w"));
      g.classRead ||= all || w === "class-read" || (/^[rwx]+$/.test(w) && w.includes("x"));
      g.classWrite ||= all || w === "class-write" || (/^[rwx]+$/.test(w) && w.includes("x"));
    }
  }
  return g;
}

/** "profile rbd pool=volumes, profile rbd-read-only pool=images, allow rwx pool=x, allow *" as grants. */
export function osdGrants(osd: string): Grant[] {
  return osd
    .split(",")
    .map((g) => g.trim())
    .filter(Boolean)
    .map(osdGrant);
}

/** A pool a user must be able to use, by its name at the site. */
export interface PoolNeed {
  pool: string;
  access: "rwx" | "r";
}

/** What the grants allow on the rbd images of one pool (narrowed grants left out). */
function accessTo(grants: Grant[], pool: string): Pick<Grant, "read" | "write" | "classRead" | "classWrite"> {
  const on = grants.filter((g) => (!g.pool || g.pool === pool) && !g.narrowed && !g.otherProfile);
  return {
    read: on.some((g) => g.read),
    write: on.some((g) => g.write),
    classRead: on.some((g) => g.classRead),
    classWrite: on.some((g) => g.classWrite),
  };
}

/**
 * What is wrong with a user's caps against what it needs: a write grant on a pool it only reads, on
 * another pool or on every pool, a pool it cannot use, and mon caps broader than the guide's.
 * `also` names pools whose write grants are not reported (a pool the user needs elsewhere that this site lacks).
 */
export function judgeCaps(caps: Caps, needs: readonly PoolNeed[], o: { also?: string[] } = {}): string[] {
  const findings: string[] = [];
  const grants = osdGrants(caps.osd);
  const writes = needs.filter((n) => n.access === "rwx").map((n) => n.pool);
  const mayWrite = new Set([...writes, ...(o.also ?? [])]);
  // NOTE: 'x' lets a client call class methods that write, yet the guide's read-only grant is 'allow rx pool=images': only 'w' counts as writing.
  const writing = (g: Grant) => g.write;
  for (const g of grants.filter((x) => x.otherProfile))
    findings.push(`${caps.entity} has osd '${g.text}', a profile beyond the guide's rbd and rbd-read-only`);
  for (const g of grants.filter((x) => writing(x) && !x.pool)) findings.push(`${caps.entity} may write every pool (osd '${g.text}')`);
  for (const g of grants.filter((x) => writing(x) && x.pool && !mayWrite.has(x.pool)))
    findings.push(`${caps.entity} may write pool ${g.pool} (osd '${g.text}'), beyond ${writes.join(", ") || "no pool (it only reads)"}`);
  for (const n of needs) {
    const a = accessTo(grants, n.pool);
    if (n.access === "rwx" && !a.write) findings.push(`${caps.entity} cannot write pool ${n.pool}`);
    if (!a.read) findings.push(`${caps.entity} cannot read pool ${n.pool}`);
    if ((a.read || a.write) && (!a.classRead || (n.access === "rwx" && !a.classWrite)))
      findings.push(
        `${caps.entity} cannot call rbd's object classes in pool ${n.pool} (no 'x' or profile rbd): rbd cannot open its images`,
      );
  }
  findings.push(...judgeMonCaps(caps));
  return findings;
}

/** A configured user's needs by the site's pool names; a role the site has no pool for is set apart. */
export function needsAt(user: CephUser, pools: SitePools): { needs: PoolNeed[]; absent: PoolRole[] } {
  const needs: PoolNeed[] = [];
  const absent: PoolRole[] = [];
  for (const n of user.needs) {
    const pool = pools[n.pool];
    if (pool) needs.push({ pool, access: n.access });
    else absent.push(n.pool);
  }
  return { needs, absent };
}

/** The users with something to do at the site: one that only serves pools the site lacks is not looked for. */
export function usersAt(users: CephUser[], pools: SitePools): CephUser[] {
  return users.filter((u) => needsAt(u, pools).needs.length > 0);
}

export interface UsersVerdict {
  /** Each finding names the user and the grant or pool. */
  findings: string[];
  /** Users whose caps the probe may not read, with the reason. */
  unreadable: string[];
}

/**
 * The configured users' caps at one site. `absentNames` are the names a pool role would have where
 * the site has none (a backups pool elsewhere): a grant on it is no finding.
 */
export function judgeCephUsers(
  users: CephUser[],
  reads: ReadonlyMap<string, CapsRead>,
  pools: SitePools,
  absentNames: Partial<Record<PoolRole, string>> = {},
): UsersVerdict {
  const v: UsersVerdict = { findings: [], unreadable: [] };
  for (const u of users) {
    const r = reads.get(u.user);
    if (!r) throw new Error(`no 'ceph auth get' outcome for ${u.user}`);
    if (r.kind === "unreadable") v.unreadable.push(`${u.user}: 'ceph auth get ${u.user}' answered ${r.detail}`);
    else if (r.kind === "missing") v.findings.push(`there is no cephx user ${u.user} (${r.detail})`);
    else {
      const { needs, absent } = needsAt(u, pools);
      const also = absent.map((role) => absentNames[role]).filter((p): p is string => Boolean(p));
      v.findings.push(...judgeCaps(r.caps, needs, { also }));
    }
  }
  return v;
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
