import { CephCommandError, type CephProbe, createCephProbe, hasCephAccess, noAccessReason, noneReason } from "../ceph/probe.ts";
import type { RbdEntry } from "../ceph/rbd.ts";
import { allSites } from "../config/load.ts";
import { sitePools } from "../config/pools.ts";
import type { Config, Site } from "../config/schema.ts";
import { redactText } from "../core/redact.ts";
import { waitFor, WaitError, type WaitTiming } from "../core/wait.ts";
import type { TrackedResource } from "./resources.ts";

/** Whose rbd images a pool holds: Glance's, Cinder's volume backend's, or cinder-backup's. */
export type PoolRole = "images" | "volumes" | "backups";

/** An rbd image (or snapshot) still in a site's cluster, named after a resource the API no longer has. */
export interface RbdLeftover {
  site: string;
  pool: string;
  /** `<image>` or `<image>@<snapshot>`. */
  image: string;
  /** The resource it is named after, as the journal recorded it. */
  resource: TrackedResource;
  /** Why it is likely there, and how the Ceph admin removes it. */
  cause: string;
}

/** A site's pool the scan could not list (or a site it did not look at: no pool), and why: nothing is known of it. */
export interface RbdNotChecked {
  site: string;
  pool?: string;
  reason: string;
}

/** "<site>: could not list rbd pool <pool>: <why>", or "<site>: not looked at: <why>". */
export const formatRbdNotChecked = (n: RbdNotChecked): string =>
  n.pool === undefined ? `${n.site}: not looked at: ${n.reason}` : `${n.site}: could not list rbd pool ${n.pool}: ${n.reason}`;

export interface RbdScan {
  found: RbdLeftover[];
  /** Pools that could not be listed, with the reason: nothing is known about them. */
  notChecked: RbdNotChecked[];
}

const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const IMAGE_NAME = new RegExp(`^(${UUID})$`);
/** Cinder's rbd driver: volume-<id>, renamed volume-<id>.deleted while a clone still depends on it. */
const VOLUME_NAME = new RegExp(`^volume-(${UUID})(?:\\.deleted)?$`);
const VOLUME_SNAPSHOT = new RegExp(`^snapshot-(${UUID})$`);
/** cinder-backup's rbd driver: volume-<volume id>.backup.<backup id>, or .backup.base for incremental chains. */
const BACKUP_NAME = new RegExp(`^volume-(${UUID})\\.backup\\.(?:(${UUID})|base)$`);
const BACKUP_SNAPSHOT = new RegExp(`^backup\\.(${UUID})\\.snap\\.`);

/** The resource ids an rbd image (or snapshot) in a pool of this role is named after. */
export function idsInRbdName(role: PoolRole, e: Pick<RbdEntry, "image" | "snapshot">): string[] {
  const m = (re: RegExp, s: string | undefined) => (s === undefined ? [] : (re.exec(s)?.slice(1) ?? []).filter(Boolean));
  switch (role) {
    case "images":
      return e.snapshot === undefined ? m(IMAGE_NAME, e.image) : [];
    case "volumes":
      return e.snapshot === undefined ? m(VOLUME_NAME, e.image) : m(VOLUME_SNAPSHOT, e.snapshot);
    case "backups":
      return e.snapshot === undefined ? m(BACKUP_NAME, e.image) : m(BACKUP_SNAPSHOT, e.snapshot);
  }
}

function causeOf(role: PoolRole, cluster: string, pool: string, image: string, snapshot: string | undefined): string {
  const spec = `${pool}/${image}`;
  const checkFirst = `after 'rbd --cluster ${cluster} children' shows no clone uses it (a dead client's lock: 'rbd lock ls ${spec}', 'rbd lock rm')`;
  switch (role) {
    case "images":
      return (
        `Glance forgot it: an interrupted copy-image or upload left it behind; remove it as the Ceph admin ${checkFirst}: ` +
        `'rbd --cluster ${cluster} snap unprotect ${spec}@<snap>', 'rbd snap purge ${spec}', 'rbd rm ${spec}'`
      );
    case "volumes":
      return snapshot
        ? `Cinder forgot the rbd snapshot of a deleted Cinder snapshot; remove it as the Ceph admin ${checkFirst}: 'rbd --cluster ${cluster} snap unprotect ${spec}@${snapshot}', 'rbd snap rm ${spec}@${snapshot}'`
        : `Cinder forgot it: the volume's deletion was interrupted or failed below the API; remove it as the Ceph admin ${checkFirst}: 'rbd --cluster ${cluster} snap purge ${spec}', 'rbd rm ${spec}'`;
    case "backups":
      return `cinder-backup forgot it: a backup or its deletion was interrupted; remove it as the Ceph admin ${checkFirst}: 'rbd --cluster ${cluster} snap purge ${spec}', 'rbd rm ${spec}'`;
  }
}

/** The rbd entries of the pools that are named after the given resources. */
export function matchRbdLeftovers(
  site: { name: string; cluster: string },
  listed: { role: PoolRole; pool: string; entries: Pick<RbdEntry, "image" | "snapshot">[] }[],
  resources: ReadonlyMap<string, TrackedResource>,
): RbdLeftover[] {
  const found: RbdLeftover[] = [];
  for (const { role, pool, entries } of listed)
    for (const e of entries)
      for (const id of idsInRbdName(role, e)) {
        const resource = resources.get(id);
        if (!resource) continue;
        const image = e.snapshot === undefined ? e.image : `${e.image}@${e.snapshot}`;
        found.push({ site: site.name, pool, image, resource, cause: causeOf(role, site.cluster, pool, e.image, e.snapshot) });
      }
  return found;
}

/** rbd's stderr for a pool that is not there (read from the command's stderr, never from a message). */
const MISSING_POOL = /No such file or directory|error opening pool|does not exist/i;

/**
 * Lists every site's images, volumes and backups pools for rbd images named after the given
 * resources, all of which the API has deleted. Glance's rbd store deletes synchronously, so what is
 * left in an images pool is final; Cinder and cinder-backup may still be deleting, so until `wait`
 * runs out the scan is repeated while anything is left in their pools, and only what remains is
 * reported. The probes only read.
 */
export async function scanRbdLeftovers(
  cfg: Config,
  deleted: readonly TrackedResource[],
  o: {
    wait?: WaitTiming;
    log?: (line: string) => void;
    unreachable?: Record<string, string>;
    /** How a site's cluster is reached; the site's configured transport unless given (the unit tests give one). */
    probeOf?: (site: Site) => Pick<CephProbe, "rbdList" | "close">;
  } = {},
): Promise<RbdScan> {
  if (deleted.length === 0) return { found: [], notChecked: [] };
  const unread = {
    ...Object.fromEntries(allSites(cfg).flatMap((s) => (hasCephAccess(s) ? [] : [[s.name, noAccessReason(noneReason(s))]]))),
    ...o.unreachable,
  };
  const skipped: RbdNotChecked[] = Object.entries(unread).map(([site, reason]) => ({ site, reason }));
  const resources = new Map(deleted.map((r) => [r.id, r]));
  const poolsOf = (s: Site): { role: PoolRole; pool: string }[] => {
    const p = sitePools(cfg, s);
    return [
      { role: "images", pool: p.images },
      { role: "volumes", pool: p.volumes },
      ...(p.backups ? [{ role: "backups" as const, pool: p.backups }] : []),
    ];
  };
  const probes: {
    site: { name: string; cluster: string };
    pools: { role: PoolRole; pool: string }[];
    probe: Pick<CephProbe, "rbdList" | "close">;
  }[] = allSites(cfg)
    .filter((s) => !unread[s.name])
    .map((s) => ({
      site: { name: s.name, cluster: s.ceph.cluster },
      pools: poolsOf(s),
      probe: o.probeOf ? o.probeOf(s) : createCephProbe(s, { timeoutMs: cfg.timeouts.request * 1000 }),
    }));
  const scanOnce = async (): Promise<RbdScan> => {
    const out: RbdScan = { found: [], notChecked: [...skipped] };
    await Promise.all(
      probes.map(async ({ site, probe, pools }) => {
        const listed: Parameters<typeof matchRbdLeftovers>[1] = [];
        await Promise.all(
          pools.map(async (p) => {
            try {
              listed.push({ ...p, entries: await probe.rbdList(p.pool) });
            } catch (e) {
              const msg = redactText((e as Error).message.split("\n")[0]!);
              if (p.role === "backups" && e instanceof CephCommandError && MISSING_POOL.test(e.stderrTail)) return;
              out.notChecked.push({ site: site.name, pool: p.pool, reason: msg });
            }
          }),
        );
        out.found.push(...matchRbdLeftovers(site, listed, resources));
      }),
    );
    return out;
  };
  const imagesPools = new Map(allSites(cfg).map((s) => [s.name, sitePools(cfg, s).images]));
  const settled = (s: RbdScan) => s.found.every((f) => f.pool === imagesPools.get(f.site));
  try {
    if (!o.wait) return await scanOnce();
    const r = await waitFor<RbdScan>({
      ...o.wait,
      what: `rbd images of the ${deleted.length} deleted resources`,
      expected: "none left in the volumes and backups pools",
      poll: scanOnce,
      done: settled,
      describe: (s) => s.found.map((f) => `${f.site}:${f.pool}/${f.image}`).join(", ") || "none",
    });
    return r.value;
  } catch (e) {
    if (e instanceof WaitError && e.kind === "timeout" && e.lastValue) {
      o.log?.(redactText(e.message));
      return e.lastValue as RbdScan;
    }
    throw e;
  } finally {
    await Promise.all(probes.map((p) => p.probe.close()));
  }
}

/** One line per rbd leftover, for the operator. */
export function formatRbdLeftover(r: RbdLeftover): string {
  return `rbd image ${r.pool}/${r.image} is still in ${r.site}'s cluster, named after ${r.resource.kind} ${r.resource.name} (${r.resource.id}) that the API deleted: ${r.cause}`;
}
