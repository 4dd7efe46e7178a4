import { createCephProbe, hasCephAccess, noAccessReason, noneReason, type ProbeFailure, probeFailureOf } from "../ceph/probe.ts";
import { allSites } from "../config/load.ts";
import type { Config, Site } from "../config/schema.ts";
import { redactText } from "../core/redact.ts";

/**
 * Whether a site's Ceph answered the probe, and whether it is the site's own cluster. It is found
 * once, before any test, and every verdict that reads Ceph evidence at that site builds on it.
 */
export type SiteReach =
  | { site: string; state: "ok"; fsid: string; pinned: boolean; ms: number }
  | { site: string; state: "unreachable"; reason: string; ms: number }
  | { site: string; state: "wrong-cluster"; fsid: string; expected: string; reason: string; ms: number }
  /** The config says the runner has no way to this site's Ceph (transport none): its Ceph checks are not verified. */
  | { site: string; state: "no-access"; reason: string; ms: 0 };

export type Reach = Record<string, SiteReach>;

/** A site whose Ceph should answer and does not, or answers as another cluster. */
export type Unreachable = Extract<SiteReach, { state: "unreachable" | "wrong-cluster" }>;

export const isUnreachable = (r: SiteReach | undefined): r is Unreachable => r?.state === "unreachable" || r?.state === "wrong-cluster";

/** A site's Ceph could not be read, or is not the cluster pinned for it: its checks fail at once as infrastructure. */
export class SiteUnreachableError extends Error {
  constructor(
    readonly reach: Unreachable,
    readonly during?: string,
  ) {
    super(
      `[${reach.site}] site unreachable: ${reach.reason}` +
        (during ? ` (found before ${during}; the site's remaining checks are not run)` : ""),
    );
    this.name = "SiteUnreachableError";
  }
}

/** What one site's `ceph fsid` gave: the fsid, or how it failed. */
export interface FsidAnswer {
  site: Site;
  fsid?: string;
  failure?: ProbeFailure;
  ms: number;
}

/** `ceph fsid` at one site, bounded by limitMs. */
export async function askFsid(site: Site, limitMs: number): Promise<FsidAnswer> {
  const t0 = Date.now();
  const probe = createCephProbe(site, { timeoutMs: limitMs });
  try {
    return { site, fsid: await probe.fsid(), ms: Date.now() - t0 };
  } catch (e) {
    return { site, failure: probeFailureOf(e, "ceph fsid"), ms: Date.now() - t0 };
  } finally {
    await probe.close();
  }
}

/**
 * Runs `ceph fsid` at every site at once, each bounded by timeouts.cephReach, and judges what came
 * back. A site with transport none is not asked: it is reported as having no Ceph access.
 */
export async function checkReach(cfg: Config, sites: Site[] = allSites(cfg)): Promise<Reach> {
  const limitMs = cfg.timeouts.cephReach * 1000;
  const found = await Promise.all(sites.filter(hasCephAccess).map((s) => askFsid(s, limitMs)));
  const judged = judgeReach(found, allSites(cfg));
  return Object.fromEntries(sites.map((s) => [s.name, judged[s.name] ?? noAccess(s)]));
}

/**
 * The site's reach asked again, bounded by timeouts.cephReach, after one of its commands timed out: unreachable when
 * `ceph fsid` fails, wrong-cluster when it answers with another fsid than the one known for the site.
 */
export async function recheckReach(cfg: Config, site: Site, known: string | undefined): Promise<SiteReach> {
  const answer = await askFsid(site, cfg.timeouts.cephReach * 1000);
  const r = judgeReach([answer], allSites(cfg))[site.name]!;
  if (r.state !== "ok" || !known || r.fsid === known) return r;
  return {
    site: site.name,
    state: "wrong-cluster",
    fsid: r.fsid,
    expected: known,
    reason: `the probe reached Ceph cluster ${r.fsid}, not ${site.name}'s cluster ${known} found before the first test`,
    ms: r.ms,
  };
}

export function noAccess(site: Site): Extract<SiteReach, { state: "no-access" }> {
  return { site: site.name, state: "no-access", reason: noAccessReason(noneReason(site)), ms: 0 };
}

/** Why `ceph fsid` gave no fsid: timed out, answered with an error, or refused, with the command and the error's first line. */
export function noAnswerReason(cluster: string, f: ProbeFailure | undefined, ms: number): string {
  const after = `after ${(ms / 1000).toFixed(1)} s`;
  if (!f) return `its Ceph cluster ${cluster} did not answer \`ceph fsid\` (${after})`;
  return redactText(describe(f, cluster, after));
}

function describe(f: ProbeFailure, cluster: string, after: string): string {
  switch (f.kind) {
    case "timeout":
      return `its Ceph cluster ${cluster} did not answer \`ceph fsid\` within ${(f.timeoutMs / 1000).toFixed(1)} s: \`${f.command}\` timed out`;
    case "exited":
      return `\`ceph fsid\` for its Ceph cluster ${cluster} errored ${after}: \`${f.command}\` exited ${f.exitCode}: ${f.firstLine}`;
    case "refused":
      return `\`ceph fsid\` for its Ceph cluster ${cluster} was refused ${after}: \`${f.command}\`: ${f.firstLine}`;
  }
}

/**
 * The verdict on what each site's probe answered: the pinned fsid, and one cluster per site. pinnedAt lists every
 * configured site: a fsid pinned for a site that was not asked (no Ceph access) still names that site's cluster.
 */
export function judgeReach(found: FsidAnswer[], pinnedAt: Pick<Site, "name" | "ceph">[] = found.map((f) => f.site)): Reach {
  const pinnedBy = new Map(
    [...found.map((f) => f.site), ...pinnedAt].flatMap((s) => (s.ceph.fsid ? [[s.ceph.fsid, s.name] as const] : [])),
  );
  const reachedBy = new Map<string, string[]>();
  for (const f of found) if (f.fsid) reachedBy.set(f.fsid, [...(reachedBy.get(f.fsid) ?? []), f.site.name]);
  const out: Reach = {};
  for (const { site, fsid, failure, ms } of found) {
    const name = site.name;
    const pinned = site.ceph.fsid;
    const whose = (id: string) => {
      const owner = pinnedBy.get(id);
      if (owner) return ` (${owner}'s pinned cluster)`;
      const others = (reachedBy.get(id) ?? []).filter((n) => n !== name);
      return others.length ? ` (the cluster ${others.join(", ")} reached as well)` : "";
    };
    if (fsid === undefined) {
      out[name] = { site: name, state: "unreachable", reason: noAnswerReason(site.ceph.cluster, failure, ms), ms };
      continue;
    }
    const wrong = (expected: string, reason: string) => {
      out[name] = { site: name, state: "wrong-cluster", fsid, expected, reason, ms };
    };
    if (pinned && fsid !== pinned)
      wrong(
        pinned,
        `the probe reached Ceph cluster ${fsid}${whose(fsid)}, not ${name}'s pinned cluster ${pinned} ` +
          `(check ceph.cluster, ceph.transport and the ceph.conf the probe reads)`,
      );
    else if (!pinned && pinnedBy.has(fsid)) wrong("a cluster of its own", `the probe reached Ceph cluster ${fsid}${whose(fsid)}`);
    else if (!pinned && (reachedBy.get(fsid) ?? []).length > 1)
      wrong(
        "a cluster of its own",
        `the probe reached Ceph cluster ${fsid}, the same cluster as ${reachedBy
          .get(fsid)!
          .filter((n) => n !== name)
          .join(", ")}: each site has its own cluster`,
      );
    else out[name] = { site: name, state: "ok", fsid, pinned: Boolean(pinned), ms };
  }
  return out;
}

/** One line per site, for the run's log. */
export function formatReach(reach: Reach): string[] {
  return Object.values(reach).map((r) =>
    r.state === "ok"
      ? `[${r.site}] Ceph ${r.fsid}${r.pinned ? " (pinned)" : " (not pinned in the config)"} answered in ${r.ms} ms`
      : r.state === "no-access"
        ? `[${r.site}] ${r.reason}: not asked; its Ceph checks will be reported as not verified`
        : `[${r.site}] ${r.reason}`,
  );
}
