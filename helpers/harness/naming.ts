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

/** The mark of a canary set, beside the run's (RUN_PROPERTY): an image property, or the metadata of the others. */
export const CANARY_PROPERTY = "dcn_verify_canary";

/** A canary set id: `canary-<run id>`, the plant run's id. */
export const CANARY_SET_ID = /^canary-\d{8}t\d{6}-[0-9a-f]{4}$/;

/**
 * Which dcn-verify run or canary set made a resource: "this run" (or "this run's group <g>"), "dcn-verify canary set
 * <id>", "dcn-verify run <id>" or "dcn-verify run group <g>", from its marks (an image's properties, the others'
 * metadata) or the run id in its harness name; undefined for what the operator made. A mark that is not an id of the
 * harness's form is not its mark.
 */
export function madeByHarness(
  r: { name?: string | null; [k: string]: unknown },
  run: { runId: string; group?: string },
  prefix: string,
): string | undefined {
  if (ownedByRun(r, run.runId, prefix)) return "this run";
  const metadata = (r.metadata ?? {}) as Record<string, unknown>;
  const mark = (key: string, form: RegExp) => [r[key], metadata[key]].find((v): v is string => typeof v === "string" && form.test(v));
  if (run.group && [r[GROUP_PROPERTY], metadata[GROUP_PROPERTY]].includes(run.group)) return `this run's group ${run.group}`;
  const canary = mark(CANARY_PROPERTY, CANARY_SET_ID);
  if (canary) return `dcn-verify canary set ${canary}`;
  const other = mark(RUN_PROPERTY, RUN_ID) ?? runIdOf(r.name, prefix);
  if (other) return `dcn-verify run ${other}`;
  const group = mark(GROUP_PROPERTY, GROUP_ID);
  return group ? `dcn-verify run group ${group}` : undefined;
}

/** Whether madeByHarness names this run or its group, as against another run or a canary set. */
export const byThisRun = (maker: string | undefined) => maker === "this run" || Boolean(maker?.startsWith("this run's group "));
