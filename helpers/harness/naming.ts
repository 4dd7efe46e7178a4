import { randomBytes } from "node:crypto";

/** A run id as `dcn-verify run` makes them: 20261123t144905-116f. */
export const RUN_ID = /^\d{8}t\d{6}-[0-9a-f]{4}$/;
const RUN_ID_PART = "\\d{8}t\\d{6}-[0-9a-f]{4}";

/** The image property that marks the run's images (Nova and Cinder copy it to what they make from them). */
export const RUN_PROPERTY = "dcn_verify_run";

/** The mark of a run group: the shards of one run (--shard) carry the same one, beside each shard's own run id. */
export const GROUP_PROPERTY = "dcn_verify_group";

/** A run group id as --group takes it (a CI pipeline's id, say). */
export const GROUP_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "t").slice(0, 15);
  return `${stamp}-${randomBytes(2).toString("hex")}`;
}

/** `<prefix>-<run id>-<site>-<what>`: the one name format of everything the harness creates. */
export function resourceName(prefix: string, runId: string, site: string, what: string): string {
  return `${prefix}-${runId}-${site}-${what}`;
}

const nameRe = (prefix: string) =>
  new RegExp(`^(?:snapshot for )?${prefix.replace(/[-]/g, "\\-")}-(${RUN_ID_PART})-([A-Za-z0-9][A-Za-z0-9_-]*)$`);

/**
 * The run id in a resource name the harness gave: `<prefix>-<run id>-<site>-<what>`, also inside
 * "snapshot for <that name>" (Nova's snapshot for a server image). Anything else is not the harness's.
 */
export function runIdOf(name: string | null | undefined, prefix: string): string | undefined {
  return name ? nameRe(prefix).exec(name)?.[1] : undefined;
}

/** The site in a resource name the harness gave. */
export function siteOfName(name: string | null | undefined, prefix: string): string | undefined {
  const rest = name ? nameRe(prefix).exec(name)?.[2] : undefined;
  return rest?.includes("-") ? rest.split("-")[0] : undefined;
}

/** Whether a run made this resource: its mark (an image property, or the metadata of the others), or the run id in its name. */
export function ownedByRun(r: { name?: string | null; [k: string]: unknown }, runId: string, prefix: string): boolean {
  const metadata = (r.metadata ?? {}) as Record<string, unknown>;
  return r[RUN_PROPERTY] === runId || metadata[RUN_PROPERTY] === runId || runIdOf(r.name, prefix) === runId;
}

/** Whether the run or another shard of its group made this resource: the run's own mark, or the group's. */
export function ownedByRunOrGroup(
  r: { name?: string | null; [k: string]: unknown },
  run: { runId: string; group?: string },
  prefix: string,
): boolean {
  if (ownedByRun(r, run.runId, prefix)) return true;
  if (!run.group) return false;
  const metadata = (r.metadata ?? {}) as Record<string, unknown>;
  return r[GROUP_PROPERTY] === run.group || metadata[GROUP_PROPERTY] === run.group;
}
