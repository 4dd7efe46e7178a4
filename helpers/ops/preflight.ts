import { z } from "zod";
import { ComputeClient, type ComputeQuotaDetail, type Flavor } from "../clients/compute.ts";
import type { Session } from "../clients/identity.ts";
import { versionAtLeast } from "../clients/microversion.ts";
import { type QuotaSetUsage, VolumeClient } from "../clients/volume.ts";
import { allSites } from "../config/load.ts";
import type { Config, Site, WebDownload } from "../config/schema.ts";
import { siteFlavor, siteNetwork } from "../config/site.ts";
import { redactText } from "../core/redact.ts";
import { importUriRefusal, parseImportUri, restrictedHost, STOCK_GLANCE_FILTER } from "../images/glance-filtering.ts";
import { catalog, type CatalogEntry, type Holds, notApplicable, roleOf, testsAt, tierAllows } from "../harness/catalog.ts";
import { DEFAULT_MAX_PARALLEL, type Selection } from "./selection.ts";
import type { Check } from "./check.ts";

/** What the selection's tests at one site hold at most at once, with the tests that hold it. */
export interface SiteNeed {
  site: string;
  volumeType?: string;
  volumes: number;
  snapshots: number;
  backups: number;
  gigabytes: number;
  instances: number;
  tests: string[];
}

const inTier = (e: CatalogEntry, sel: Pick<Selection, "tier">) => tierAllows(sel.tier, e.tier);

/**
 * Conservative: every test's volumes, snapshots, backups and servers are counted as alive together, since a
 * suite keeps what it hands to later tests until its end and the sweep runs after every site has finished.
 * gigabytes counts each volume and each snapshot at the config's volume.sizeGiB (Cinder counts snapshots
 * in gigabytes unless no_snapshot_gb_quota is set).
 */
export function siteNeeds(cfg: Config, sel: Pick<Selection, "sites" | "suites" | "tests" | "tier">): SiteNeed[] {
  return sel.sites.map((name) => {
    const site = allSites(cfg).find((s) => s.name === name)!;
    const tests = testsAt(roleOf(cfg, name), sel.suites, sel.tests).filter(
      (e) => inTier(e, sel) && e.holds && !notApplicable(e.id, cfg, name),
    );
    const sum = (k: keyof Holds) => tests.reduce((a, e) => a + (e.holds?.[k] ?? 0), 0);
    const volumes = sum("volumes");
    const snapshots = sum("snapshots");
    const volumeType = site.volumeType ?? cfg.volume.type;
    return {
      site: name,
      ...(volumeType ? { volumeType } : {}),
      volumes,
      snapshots,
      backups: sum("backups"),
      gigabytes: (volumes + snapshots) * cfg.volume.sizeGiB,
      instances: sum("instances"),
      tests: tests.map((e) => e.id),
    };
  });
}

/** Sites that share a region share its Cinder's and Nova's project quotas. */
/** A service's quotas that could not be read: a warning, the run's needs left uncompared. */
const quotaUnread = (service: string, where: string, e: unknown): Check => ({
  name: `quota ${service}${where}`,
  ok: true,
  warn: true,
  detail: `could not read: ${firstLine(e)}`,
  hint: `the run's needs were not compared with ${service}'s quotas`,
});

const siteOf = (cfg: Config, name: string) => allSites(cfg).find((s) => s.name === name)!;

/** Site names by a key of the site (its flavor, its network), in the order met. */
function groupBy(sites: Site[], key: (s: Site) => string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const s of sites) out.set(key(s), [...(out.get(key(s)) ?? []), s.name]);
  return out;
}

export function byRegion(cfg: Config, needs: SiteNeed[]): { region?: string; needs: SiteNeed[] }[] {
  const out = new Map<string, { region?: string; needs: SiteNeed[] }>();
  for (const n of needs) {
    const region = allSites(cfg).find((s) => s.name === n.site)!.region ?? cfg.cloud.region;
    const key = region ?? "";
    if (!out.has(key)) out.set(key, { ...(region ? { region } : {}), needs: [] });
    out.get(key)!.needs.push(n);
  }
  return [...out.values()];
}

type Usage = { limit: number; in_use: number; reserved?: number };
const usageOf = (set: Record<string, unknown>, key: string): Usage | undefined => {
  const u = set[key];
  return u && typeof u === "object" && "limit" in u ? (u as Usage) : undefined;
};

interface QuotaLine {
  key: string;
  need: number;
  parts: string[];
  /** The openstack CLI flag that lifts it. */
  flag: string;
  typeFlag?: string;
}

function judge(service: string, set: Record<string, unknown>, lines: QuotaLine[], where: string, project: string): Check[] {
  const checks: Check[] = [];
  for (const l of lines) {
    if (l.need === 0) continue;
    const u = usageOf(set, l.key);
    const name = `quota ${service} ${l.key}${where}`;
    if (!u) continue;
    if (u.limit < 0) {
      checks.push({ name, ok: true, detail: `need ${l.need} (${l.parts.join(", ")}), unlimited` });
      continue;
    }
    const used = u.in_use + (u.reserved ?? 0);
    const free = Math.max(0, u.limit - used);
    const detail = `need ${l.need} (${l.parts.join(", ")}), free ${free} of ${u.limit} (${u.in_use} in use, ${u.reserved ?? 0} reserved)`;
    if (free >= l.need) checks.push({ name, ok: true, detail });
    else
      checks.push({
        name,
        ok: false,
        detail,
        hint:
          `the run would stop part-way with a quota error: lift it before the run, ` +
          `openstack quota set ${l.typeFlag ? `${l.typeFlag} ` : ""}${l.flag} ${used + l.need} ${project}` +
          ` (or run fewer sites with --sites, or fewer suites with --suites)`,
      });
  }
  return checks;
}

const parts = (needs: SiteNeed[], k: keyof Pick<SiteNeed, "volumes" | "snapshots" | "backups" | "gigabytes" | "instances">, mult = 1) =>
  needs.filter((n) => n[k] > 0).map((n) => `${n.site}: ${n[k] * mult}`);
const total = (needs: SiteNeed[], k: keyof Pick<SiteNeed, "volumes" | "snapshots" | "backups" | "gigabytes" | "instances">) =>
  needs.reduce((a, n) => a + n[k], 0);

/**
 * What the sites hold at once when at most `inFlight` of them run together (--max-parallel): a site holds what it
 * made until its own cleanup, so for each kind of resource the peak is at most the sum of the inFlight largest needs.
 * The sites left out of that sum keep their rows, with nothing counted.
 */
export function atOnce(needs: SiteNeed[], inFlight: number): SiteNeed[] {
  if (inFlight >= needs.length) return needs;
  const keys = ["volumes", "snapshots", "backups", "gigabytes", "instances"] as const;
  const kept = new Map(keys.map((k) => [k, new Set([...needs].sort((a, b) => b[k] - a[k]).slice(0, inFlight))]));
  return needs.map((n) => ({ ...n, ...Object.fromEntries(keys.map((k) => [k, kept.get(k)!.has(n) ? n[k] : 0])) }));
}

/** Cinder's project quotas, and the per-type ones of each site's volume type, against what the sites need. */
export function judgeCinderQuota(usage: QuotaSetUsage, needs: SiteNeed[], o: { project: string; region?: string }): Check[] {
  const set = usage.quota_set;
  const where = o.region ? ` (region ${o.region})` : "";
  const lines: QuotaLine[] = (["volumes", "snapshots", "gigabytes", "backups"] as const).map((k) => ({
    key: k,
    need: total(needs, k),
    parts: parts(needs, k),
    flag: `--${k}`,
  }));
  const types = [...new Set(needs.map((n) => n.volumeType).filter((t): t is string => Boolean(t)))];
  for (const t of types) {
    const of = needs.filter((n) => n.volumeType === t);
    for (const k of ["volumes", "snapshots", "gigabytes"] as const)
      lines.push({ key: `${k}_${t}`, need: total(of, k), parts: parts(of, k), flag: `--${k}`, typeFlag: `--volume-type ${t}` });
  }
  return judge("Cinder", set, lines, where, o.project);
}

/** Nova's instances, cores and ram, the cores and ram from each site's flavor. */
export function judgeComputeQuota(
  detail: ComputeQuotaDetail,
  needs: SiteNeed[],
  flavor: Flavor | ((site: string) => Flavor),
  o: { project: string; region?: string },
) {
  const where = o.region ? ` (region ${o.region})` : "";
  const flavorOf = typeof flavor === "function" ? flavor : () => flavor;
  const booting = needs.filter((n) => n.instances > 0);
  const sum = (f: (n: SiteNeed) => number) => booting.reduce((a, n) => a + f(n), 0);
  const lines: QuotaLine[] = [
    { key: "instances", need: total(needs, "instances"), parts: parts(needs, "instances"), flag: "--instances" },
    {
      key: "cores",
      need: sum((n) => n.instances * (flavorOf(n.site).vcpus ?? 0)),
      parts: booting.map((n) => {
        const f = flavorOf(n.site);
        return `${n.site}: ${n.instances * (f.vcpus ?? 0)} (flavor ${f.name}: ${f.vcpus} vCPU)`;
      }),
      flag: "--cores",
    },
    {
      key: "ram",
      need: sum((n) => n.instances * (flavorOf(n.site).ram ?? 0)),
      parts: booting.map((n) => `${n.site}: ${n.instances * (flavorOf(n.site).ram ?? 0)} MiB`),
      flag: "--ram",
    },
  ];
  return judge("Nova", detail.quota_set, lines, where, o.project);
}

/** `network: none` boots with networks "none", which Nova takes from compute microversion 2.37. */
export function judgeNetwork(network: string, computeMicroversion: string, found?: { name?: string } | Error): Check {
  if (network === "none")
    return versionAtLeast(computeMicroversion, "2.37")
      ? { name: "network", ok: true, detail: `none: compute microversion ${computeMicroversion} (>= 2.37 boots with networks none)` }
      : {
          name: "network",
          ok: false,
          detail: `none needs compute microversion >= 2.37; this Nova goes up to ${computeMicroversion}`,
          hint: "set network in the config to the id of a network the servers may boot on",
        };
  if (found instanceof Error || !found)
    return {
      name: "network",
      ok: false,
      detail: `network ${network}: ${found instanceof Error ? found.message.split("\n")[0] : "not found"}`,
      hint: "network in the config must be the id of a network the credential's project can see (openstack network list)",
    };
  return { name: "network", ok: true, detail: `network ${network} (${found.name ?? "no name"}) found` };
}

/** What the tests use the admin role for (their declarations' admin), each reason with its tests, in catalog order. */
export function adminNeeds(tests: readonly CatalogEntry[]): { tests: string[]; why: string }[] {
  const needs: { tests: string[]; why: string }[] = [];
  for (const e of catalog().filter((x) => tests.includes(x) && x.admin)) {
    const why = e.admin!.why;
    const at = needs.find((n) => n.why === why);
    if (at) at.tests.push(e.id);
    else needs.push({ tests: [e.id], why });
  }
  return needs;
}

export function judgeAdmin(roles: string[], cfg: Config, sel: Pick<Selection, "sites" | "suites" | "tests" | "tier">): Check {
  if (roles.includes("admin")) return { name: "admin role", ok: true, warn: false, detail: `roles ${roles.join(", ")}` };
  const selected = new Set(sel.sites.flatMap((s) => testsAt(roleOf(cfg, s), sel.suites, sel.tests).filter((e) => inTier(e, sel))));
  const hit = adminNeeds([...selected]);
  return {
    name: "admin role",
    ok: true,
    warn: true,
    detail: `the credential has no admin role (roles ${roles.join(", ") || "none"})`,
    hint: hit.length
      ? `these tests will fail or be not verified: ${hit.map((a) => `${a.tests.join(", ")} (${a.why})`).join("; ")}`
      : "none of the selected tests needs it",
  };
}

/** The URL(s) Glance's web-download is given, as the config describes them. */
export function webDownloadUrls(w: WebDownload): { url: string; field: string; randomPort: boolean }[] {
  if (w.uri)
    return [
      { url: w.uri, field: "webDownload.uri", randomPort: false },
      ...(w.qcow2Uri ? [{ url: w.qcow2Uri, field: "webDownload.qcow2Uri", randomPort: false }] : []),
    ];
  if (w.advertiseUrl) return [{ url: w.advertiseUrl, field: "webDownload.advertiseUrl", randomPort: false }];
  const host = w.bind.includes(":") ? `[${w.bind}]` : w.bind;
  return [{ url: `http://${host}:${w.port === 0 ? "<random port>" : w.port}`, field: "webDownload.bind/port", randomPort: w.port === 0 }];
}

/**
 * Whether stock Glance filtering would let web-download fetch from these URLs. The harness cannot read
 * glance-api.conf, so a refusal is a warning naming the setting, not a failure.
 */
export function judgeWebDownload(w: WebDownload): Check {
  const problems: string[] = [];
  const fixes: string[] = [];
  const urls = webDownloadUrls(w);
  for (const u of urls) {
    let host: string | undefined;
    if (u.randomPort) {
      host = w.bind;
      problems.push(
        `${u.url} (${u.field}): port random is not in stock Glance's [import_filtering_opts] allowed_ports = [${STOCK_GLANCE_FILTER.allowed_ports.join(", ")}]`,
      );
    } else {
      host = parseImportUri(u.url).host;
      const refusal = importUriRefusal(u.url);
      if (refusal) problems.push(`${u.url} (${u.field}): ${refusal}: stock [import_filtering_opts] refuses it (validate_import_uri)`);
    }
    const restricted = host && restrictedHost(host);
    if (restricted)
      problems.push(
        `${u.url} (${u.field}): host ${host} is ${restricted}: only a Glance ${restricted === "loopback" ? "on this machine" : "on the same link"} reaches it, ` +
          "and Glance builds with the 2026 SSRF fixes (resolve_pinned_address, e.g. Debian's glance 2:25.1.0-2+deb12u5) refuse it unless [import_filtering_opts] allowed_hosts lists it",
      );
    if (host === "0.0.0.0" || host === "::")
      problems.push(`${u.url} (${u.field}): ${host} names no host Glance can fetch from: set webDownload.advertiseUrl`);
  }
  if (problems.some((p) => p.includes("allowed_ports")))
    fixes.push(
      "add the port to [import_filtering_opts] allowed_ports in glance-api.conf (allowed_ports = [] allows any), or set webDownload.port: 80 (or 443)",
    );
  if (problems.some((p) => p.includes("allowed_hosts")))
    fixes.push(
      "set webDownload.bind (or webDownload.advertiseUrl) to an address Glance reaches that is not loopback, or list the host in allowed_hosts",
    );
  fixes.push("or give webDownload.uri: an image on a server Glance may fetch from");
  if (!problems.length)
    return {
      name: "web-download",
      ok: true,
      warn: false,
      detail: `Glance fetches from ${urls.map((u) => u.url).join(", ")}: port and host pass stock filtering`,
    };
  return {
    name: "web-download",
    ok: true,
    warn: true,
    detail: `${problems.join("; ")}; the harness cannot read glance-api.conf, so this holds only if that Glance keeps the defaults`,
    hint: fixes.join("; "),
  };
}

const firstLine = (e: unknown) => redactText((e as Error).message ?? String(e)).split("\n")[0]!;

/**
 * What the selected tests need from the cloud, per region: quotas, the flavor, the network (or microversion
 * 2.37 for none), the admin role, and whether Glance may fetch from the image server. Reads only.
 */
export async function preflightChecks(
  cfg: Config,
  sel: Pick<Selection, "sites" | "suites" | "tests" | "tier" | "maxParallel">,
  session: Session,
): Promise<Check[]> {
  const checks: Check[] = [];
  const writable = tierAllows(sel.tier, "standard");
  checks.push(judgeAdmin(session.roles, cfg, sel));
  const needs = atOnce(siteNeeds(cfg, sel), sel.maxParallel ?? DEFAULT_MAX_PARALLEL);
  const boots = needs.some((n) => n.instances > 0);
  const project = session.projectName ?? session.projectId;
  for (const scope of byRegion(cfg, needs)) {
    const where = scope.region ? ` (region ${scope.region})` : "";
    const sites = scope.needs.map((n) => n.site).join(", ");
    let compute: ComputeClient | undefined;
    try {
      compute = await ComputeClient.negotiate(session, { region: scope.region });
    } catch (e) {
      checks.push({ name: `Nova${where}`, ok: false, detail: firstLine(e), hint: `Nova must answer for ${sites}` });
    }
    const flavorFound = new Map<string, Flavor>();
    if (compute && boots) {
      const booting = scope.needs.filter((n) => n.instances > 0).map((n) => siteOf(cfg, n.site));
      const flavors = groupBy(booting, (s) => siteFlavor(cfg, s));
      for (const [name, at] of flavors) {
        const label = `flavor${flavors.size > 1 ? ` ${name}` : ""}${where}`;
        try {
          const flavor: Flavor = await compute.findFlavor(name);
          flavorFound.set(name, flavor);
          checks.push({
            name: label,
            ok: true,
            detail: `${flavor.name} (${flavor.id}): ${flavor.vcpus} vCPU, ${flavor.ram} MiB, ${flavor.disk} GB disk`,
          });
        } catch (e) {
          checks.push({
            name: label,
            ok: false,
            detail: firstLine(e),
            hint: `the flavor of ${at.join(", ")} (${at.length > 1 || !siteOf(cfg, at[0]!).flavor ? "flavor" : "the site's flavor"} in the config) must name a flavor the credential's project can use there (openstack flavor list --all)`,
          });
        }
      }
      const networks = groupBy(booting, (s) => siteNetwork(cfg, s));
      for (const [network, at] of networks) {
        let found: { name?: string } | Error | undefined;
        if (network !== "none")
          found = await session
            .client("neutron", "network", {
              region: scope.region,
              transform: (u) => `${u.replace(/\/+$/, "").replace(/\/v2\.0$/, "")}/v2.0`,
            })
            .request("GET", `/networks/${encodeURIComponent(network)}`, { expect: 200, schema: networkSchema })
            .then((r) => r.data.network)
            .catch((e: unknown) => e as Error);
        const judged = judgeNetwork(network, compute.microversion, found);
        checks.push({
          ...judged,
          name: `network${networks.size > 1 ? ` ${network}` : ""}${where}`,
          ...(judged.ok ? {} : { detail: `${judged.detail} (for ${at.join(", ")})` }),
        });
      }
    }
    if (!writable) continue;
    try {
      const volume = await VolumeClient.negotiate(session, { region: scope.region });
      checks.push(...judgeCinderQuota(await volume.showQuotaUsage(session.projectId), scope.needs, { project, region: scope.region }));
    } catch (e) {
      checks.push(quotaUnread("Cinder", where, e));
    }
    const flavorOf = (site: string) => flavorFound.get(siteFlavor(cfg, siteOf(cfg, site)));
    if (compute && boots && scope.needs.every((n) => n.instances === 0 || flavorOf(n.site))) {
      try {
        checks.push(
          ...judgeComputeQuota(await compute.showQuotaDetail(session.projectId), scope.needs, (site) => flavorOf(site)!, {
            project,
            region: scope.region,
          }),
        );
      } catch (e) {
        checks.push(quotaUnread("Nova", where, e));
      }
    }
  }
  if (writable && testsAt("central", sel.suites, sel.tests).some((e) => e.group === "multistore") && sel.sites.includes(cfg.central.name))
    checks.push(judgeWebDownload(cfg.webDownload));
  return checks;
}

const networkSchema = z.looseObject({ network: z.looseObject({ id: z.string(), name: z.string().optional() }) });
