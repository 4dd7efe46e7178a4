import { z } from "zod";

const flag = z.union([z.boolean(), z.enum(["true", "false"])]).transform((v) => v === true || v === "true");

export const rbdParentSchema = z.looseObject({
  pool: z.string(),
  pool_namespace: z.string().default(""),
  image: z.string(),
  snapshot: z.string(),
});

/** One row of `rbd ls -l`: an image, or one of its snapshots when `snapshot` is set. */
export const rbdEntrySchema = z.looseObject({
  image: z.string(),
  id: z.string().optional(),
  snapshot: z.string().optional(),
  snapshot_id: z.number().int().optional(),
  size: z.number().int().nonnegative(),
  format: z.number().int(),
  protected: flag.optional(),
  parent: rbdParentSchema.optional(),
  lock_type: z.string().optional(),
});

export const rbdSnapshotSchema = z.looseObject({
  id: z.number().int(),
  name: z.string(),
  size: z.number().int().nonnegative(),
  protected: flag,
  timestamp: z.string().optional(),
});

export const rbdInfoSchema = z.looseObject({
  name: z.string(),
  id: z.string().optional(),
  size: z.number().int().nonnegative(),
  objects: z.number().int().optional(),
  order: z.number().int().optional(),
  object_size: z.number().int().optional(),
  snapshot_count: z.number().int().optional(),
  block_name_prefix: z.string().optional(),
  format: z.number().int(),
  features: z.array(z.string()).optional(),
  op_features: z.array(z.string()).optional(),
  flags: z.array(z.string()).optional(),
  protected: flag.optional(),
  parent: rbdParentSchema
    .extend({
      id: z.string().optional(),
      trash: z.boolean().optional(),
      overlap: z.number().int().optional(),
    })
    .optional(),
});

export const rbdChildSchema = z.looseObject({
  pool: z.string(),
  pool_namespace: z.string().default(""),
  image: z.string(),
  id: z.string().optional(),
  trash: z.boolean().optional(),
});

export const cephHealthCheckSchema = z.looseObject({
  severity: z.string(),
  summary: z.looseObject({ message: z.string(), count: z.number().int().optional() }),
  muted: z.boolean().optional(),
});

export const cephStatusSchema = z.looseObject({
  fsid: z.string(),
  health: z.looseObject({
    status: z.string(),
    checks: z.record(z.string(), cephHealthCheckSchema).default({}),
  }),
});

export type RbdParent = z.output<typeof rbdParentSchema>;
export type RbdEntry = z.output<typeof rbdEntrySchema>;
export type RbdSnapshot = z.output<typeof rbdSnapshotSchema>;
/** One extent of `rbd diff --format json`: where the image (or snapshot) holds data of its own. */
export const rbdExtentSchema = z.looseObject({
  offset: z.number().int().nonnegative(),
  length: z.number().int().nonnegative(),
  exists: z.union([z.boolean(), z.enum(["true", "false"])]).transform((v) => v === true || v === "true"),
});

export type RbdExtent = z.output<typeof rbdExtentSchema>;
export type RbdInfo = z.output<typeof rbdInfoSchema>;
export type RbdChild = z.output<typeof rbdChildSchema>;
export type CephStatus = z.output<typeof cephStatusSchema>;

function parseJson<T extends z.ZodType>(what: string, schema: T, text: string): z.output<T> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`${what}: output is not JSON (${(e as Error).message}): ${JSON.stringify(text.slice(0, 200))}`, { cause: e });
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new Error(`${what}: unexpected output: ${z.prettifyError(result.error)}\nreceived: ${text.slice(0, 400)}`);
  }
  return result.data;
}

export const parseRbdList = (text: string): RbdEntry[] => parseJson("rbd ls -l --format json", z.array(rbdEntrySchema), text);

export const parseRbdSnapshots = (text: string): RbdSnapshot[] => parseJson("rbd snap ls --format json", z.array(rbdSnapshotSchema), text);

export const parseRbdInfo = (text: string): RbdInfo => parseJson("rbd info --format json", rbdInfoSchema, text);

export const parseRbdDiff = (text: string): RbdExtent[] => parseJson("rbd diff --format json", z.array(rbdExtentSchema), text);

export const parseRbdChildren = (text: string): RbdChild[] => parseJson("rbd children --format json", z.array(rbdChildSchema), text);

export const parseCephStatus = (text: string): CephStatus => parseJson("ceph -s --format json", cephStatusSchema, text);

const FSID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Accepts both `ceph fsid` (plain) and `ceph fsid --format json`. */
export function parseCephFsid(text: string): string {
  const trimmed = text.trim();
  const fsid = trimmed.startsWith("{") ? parseJson("ceph fsid --format json", z.looseObject({ fsid: z.string() }), trimmed).fsid : trimmed;
  if (!FSID.test(fsid)) throw new Error(`ceph fsid: not a cluster fsid: ${JSON.stringify(trimmed.slice(0, 120))}`);
  return fsid.toLowerCase();
}

/** `images/<id>@snap`, or `pool/namespace/image@snap` as rbd prints it. */
export function parentSpec(parent: RbdParent): string {
  const ns = parent.pool_namespace ? `${parent.pool_namespace}/` : "";
  return `${parent.pool}/${ns}${parent.image}@${parent.snapshot}`;
}

const UNITS: Record<string, number> = { B: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40, PiB: 2 ** 50, EiB: 2 ** 60 };
const HEADER = ["NAME", "SIZE", "PARENT", "FMT", "PROT", "LOCK"];
const PARENT = /^([^/@\s]+)\/(?:([^/@\s]+)\/)?([^/@\s]+)@(\S+)$/;
const LOCKS: Record<string, string> = { excl: "exclusive", shr: "shared" };

function takeRow(tokens: string[]): RbdEntry {
  const row = tokens.slice(0, 7).join(" ");
  const fail = (why: string): never => {
    throw new Error(`rbd ls -l: ${why} in row starting ${JSON.stringify(row)}`);
  };
  const name = tokens.shift() ?? fail("missing NAME");
  const amount = tokens.shift();
  const unit = tokens.shift();
  if (amount === undefined || unit === undefined || !/^\d+(\.\d+)?$/.test(amount) || !(unit in UNITS)) {
    fail(`SIZE is not '<number> <unit>' (got ${JSON.stringify(`${amount ?? ""} ${unit ?? ""}`)})`);
  }
  const at = name.indexOf("@");
  const entry: RbdEntry = {
    image: at < 0 ? name : name.slice(0, at),
    size: Math.round(Number(amount) * UNITS[unit!]!),
    size_text: `${amount} ${unit}`,
    format: 0,
  };
  if (at >= 0) entry.snapshot = name.slice(at + 1);
  const parent = PARENT.exec(tokens[0] ?? "");
  if (parent) {
    tokens.shift();
    entry.parent = { pool: parent[1]!, pool_namespace: parent[2] ?? "", image: parent[3]!, snapshot: parent[4]! };
  }
  const fmt = tokens.shift();
  if (fmt !== "1" && fmt !== "2") fail(`FMT is not 1 or 2 (got ${JSON.stringify(fmt ?? "")})`);
  entry.format = Number(fmt);
  if (entry.snapshot !== undefined) {
    entry.protected = tokens[0] === "yes";
    if (entry.protected) tokens.shift();
  } else if (tokens[0] !== undefined && tokens[0] in LOCKS) {
    entry.lock_type = LOCKS[tokens.shift()!];
  }
  return entry;
}

/**
 * Parses the text table of `rbd ls -l` (NAME SIZE PARENT FMT PROT LOCK) into the JSON entry shape.
 * SIZE is rounded from rbd's human units and also kept verbatim as `size_text`.
 * Also accepts the table flattened onto one line, as it appears in the DCN guide.
 */
export function parseRbdListText(text: string): RbdEntry[] {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.length === 0) return [];
  const first = lines[0]!.split(/\s+/);
  if (!HEADER.every((h, i) => first[i] === h)) {
    throw new Error(`rbd ls -l: expected the header ${HEADER.join(" ")}, got ${JSON.stringify(lines[0]!.slice(0, 120))}`);
  }
  const rows = [first.slice(HEADER.length), ...lines.slice(1).map((l) => l.split(/\s+/))];
  const entries: RbdEntry[] = [];
  for (const tokens of rows) {
    while (tokens.length > 0) entries.push(takeRow(tokens));
  }
  return entries;
}
