import "../suites/index.ts";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { type Clients, openSiteClients } from "../helpers/clients/index.ts";

import type { Config } from "../helpers/config/schema.ts";
import { timing } from "../helpers/config/timing.ts";
import { ConfigError, loadConfig } from "../helpers/config/load.ts";
import { redactText } from "../helpers/core/redact.ts";
import { formatPlan, planOf } from "../helpers/ops/plan.ts";
import { formatRbdLeftover, formatRbdNotChecked, scanRbdLeftovers } from "../helpers/harness/rbd-leftovers.ts";
import { deleteAll } from "../helpers/harness/resources.ts";
import { cloudOf } from "../helpers/ops/pipeline/prepare.ts";
import { formatOutcome } from "../helpers/ops/pipeline/publish.ts";
import { runVerification } from "../helpers/ops/pipeline/run.ts";
import { type Selection, selectSites, selectTier } from "../helpers/ops/selection.ts";
import { resourceName } from "../helpers/harness/naming.ts";
import {
  type CanaryManifest,
  CANARY_SET_ID,
  plantRunOf,
  readManifest,
  readSiteRecord,
  rebuildManifest,
  writeManifest,
} from "../helpers/harness/canary.ts";
import { type CloudCanary, listCanaries, notACanaryOf, recordInventory, removalOrder } from "../helpers/ops/canary-cloud.ts";
import { regionalClients } from "../helpers/ops/leftovers.ts";
import { checkMetricsTargets, exportMetrics } from "../helpers/ops/metrics.ts";
import { configPathOf, parseCommand, useOverlay } from "./args.ts";

const USAGE = `usage: dcn-verify canary plant --manifest FILE [--config FILE] [--sites dcn0,dcn1] [--allow-writes] [--plan] [--reports DIR] [--no-html] [--verbose]
       dcn-verify canary verify (--manifest FILE | --set ID [--write-manifest FILE]) [--tier read-only|standard] [--sites ...] [--plan] [--reports DIR] [--no-html] [--verbose] [--metrics-textfile PATH] [--pushgateway URL]
       dcn-verify canary remove (--manifest FILE | --set ID) [--plan]
  Storage canaries for upgrades: plant before, verify after, remove when done.
  plant creates at each edge site a canary image (central and the edge store), a copy-on-write volume from it, a
  Cinder snapshot of that volume and a volume from the snapshot, a backup where the site has a backups pool, and a
  server booted from a volume in the edge AZ; reads each back (stores, clusters, rbd parents, protected snapshots,
  sha512 of the data) and records it in the manifest FILE and in the canary's own metadata. A site whose canaries do
  not all plant keeps none. The set's id is canary-<run id>.
  verify reads each canary again and names every difference from the manifest (read-only by default). With
  --tier standard it also restores the backup, makes a new volume from the old image (still a clone) and copies the
  old image to a store that lacks it, deleting what it made. --set ID rebuilds a lost manifest from the canaries'
  metadata (--write-manifest saves it). --metrics-textfile PATH (a .prom file) and --pushgateway URL export the result
  as Prometheus metrics (dcn_verify_canary_intact{site,canary}; see 'dcn-verify metrics --help'); when every canary
  was as recorded but the metrics could not be written or pushed, verify exits 1.
  remove deletes the set's canaries, the last planted first, each only with the set's and its plant run's marks.
  --plan prints what the command would create, read or delete, and changes nothing.
  Exit codes: 0 all planted / every canary as recorded / all removed; 1 a canary failed, differs, or would not
  delete; 2 bad input, nothing done.`;

const OPTIONS = {
  config: { type: "string" },
  overlay: { type: "string" },
  sites: { type: "string" },
  manifest: { type: "string" },
  set: { type: "string" },
  "write-manifest": { type: "string" },
  tier: { type: "string" },
  "allow-writes": { type: "boolean" },
  plan: { type: "boolean" },
  reports: { type: "string" },
  "no-html": { type: "boolean" },
  verbose: { type: "boolean" },
  "metrics-textfile": { type: "string" },
  pushgateway: { type: "string" },
} as const;

export async function canaryCommand(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action !== "plant" && action !== "verify" && action !== "remove") {
    const help = action === undefined || action === "--help";
    (help ? process.stdout : process.stderr).write(`${USAGE}\n`);
    return help ? 0 : 2;
  }
  const parsed = parseCommand(rest, OPTIONS, USAGE);
  if (typeof parsed === "number") return parsed;
  const args = parsed.values;
  const say = (line: string) => process.stderr.write(`dcn-verify canary ${action}: ${line}\n`);
  let cfg: Config;
  let configPath: string;
  try {
    useOverlay(args.overlay);
    configPath = configPathOf(args.config);
    cfg = await loadConfig(configPath);
    checkInput(action, args);
  } catch (e) {
    say(redactText((e as Error).message));
    return 2;
  }
  const reportsRoot = resolve(args.reports ?? cfg.reportsDir);
  try {
    if (action === "plant") return await plant(cfg, configPath, args, reportsRoot, say);
    if (action === "verify") return await verify(cfg, configPath, args, reportsRoot, say);
    return await remove(cfg, args, say);
  } catch (e) {
    say(redactText((e as Error).message));
    return e instanceof ConfigError ? 2 : 1;
  }
}

type Args = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]["type"] extends "boolean" ? boolean : string };

/** The options each action takes, checked before any cloud call. */
function checkInput(action: "plant" | "verify" | "remove", a: Args): void {
  const bad = (field: string, why: string) => new ConfigError(`${field}: ${why}`, []);
  if (action === "plant") {
    if (!a.manifest) throw bad("--manifest", "plant needs the file to record the set in");
    if (a.set) throw bad("--set", "plant makes a new set; its id is canary-<run id>");
    if (!a.plan && existsSync(a.manifest))
      throw bad("--manifest", `${a.manifest} exists: verify or remove that set first, or give another file`);
    if (!existsSync(dirname(resolve(a.manifest)))) throw bad("--manifest", `the directory of ${a.manifest} does not exist`);
    if (a.tier !== undefined && a.tier !== "standard") throw bad("--tier", "plant creates canaries: it runs at tier standard");
  } else {
    if (Boolean(a.manifest) === Boolean(a.set))
      throw bad("--manifest/--set", "give one: the manifest file, or the set id to rebuild it from the cloud");
    if (a.set && !CANARY_SET_ID.test(a.set)) throw bad("--set", `'${a.set}' is not a canary set id (canary-<run id>, as plant printed it)`);
    if (a.manifest && !existsSync(a.manifest))
      throw bad("--manifest", `${a.manifest} does not exist (--set ID rebuilds it from the cloud)`);
  }
  if (action !== "verify" && a["write-manifest"]) throw bad("--write-manifest", "only verify rebuilds and writes a manifest");
  for (const o of ["metrics-textfile", "pushgateway"] as const)
    if (action !== "verify" && a[o] !== undefined) throw bad(`--${o}`, "only verify exports metrics");
  if (action === "verify") checkMetricsTargets(a);
  if (action === "verify" && a.tier !== undefined && !["read-only", "standard"].includes(a.tier))
    throw bad("--tier", `verify runs at read-only (the default) or standard, not '${a.tier}'`);
}

async function plant(cfg: Config, configPath: string, a: Args, reportsRoot: string, say: (l: string) => void): Promise<number> {
  const { tier, notice } = selectTier("standard", cfg.production, Boolean(a["allow-writes"]));
  if (tier !== "standard") throw new ConfigError(`plant creates canaries: ${notice ?? "the tier is capped"}`, []);
  const sel: Selection = { sites: selectSites(cfg, a.sites), suites: ["canary-plant"], tier, tierGiven: true };
  if (a.plan) return printPlan(cfg, sel);
  const out = await runVerification(cfg, configPath, sel, {
    reportsRoot,
    log: say,
    verbose: a.verbose,
    html: !a["no-html"],
    canary: {},
  });
  if (!out.summary) return out.exitCode;
  process.stdout.write(formatOutcome(out));
  const setId = `canary-${out.summary.runId}`;
  const sites = sel.sites.flatMap((s) => readSiteRecord(out.runDir, s) ?? []);
  if (!sites.length) {
    say(`no site planted its canaries: no manifest written; the run deleted what it made`);
    return out.exitCode || 1;
  }
  const manifest: CanaryManifest = {
    version: 1,
    setId,
    cloud: out.summary.cloud ?? { authUrl: "", region: "", project: "" },
    plantedAt: out.summary.startedAt,
    tier: "standard",
    sites,
  };
  writeManifest(a.manifest!, manifest);
  const n = sites.reduce((k, s) => k + s.canaries.length, 0);
  say(`set ${setId}: ${n} canaries at ${sites.map((s) => s.site).join(", ")}, recorded in ${a.manifest}`);
  const inventory = await recordSetInventory(cfg, manifest, say);
  return out.exitCode || (inventory ? 0 : 1);
}

/**
 * Records the set's inventory in every canary's metadata, then rebuilds the manifest from a new listing of the cloud:
 * it must name every canary of the file with the same facts. false (and each reason said) when it does not.
 */
async function recordSetInventory(cfg: Config, manifest: CanaryManifest, say: (l: string) => void): Promise<boolean> {
  const c = await openSiteClients(cfg, cfg.central);
  const { clientsOf } = await regionalClients(cfg, c);
  const { recorded, failed } = await recordInventory(clientsOf, manifest);
  for (const f of failed)
    say(`[${f.site}] ${f.kind} ${f.id}: the set's inventory was not recorded in its metadata: ${redactText(f.error)}`);
  const rebuilt = rebuildFromCloud(cfg, c, manifest.setId, await listCanaries(c, cfg, manifest.setId));
  const want = (m: CanaryManifest | undefined) => JSON.stringify(m?.sites.map((s) => ({ site: s.site, canaries: s.canaries })));
  const same = want(rebuilt) === want(manifest);
  if (!same)
    say(
      `the manifest rebuilt from the cloud is not the one written: a lost manifest would not be rebuilt whole ` +
        `(the cloud's: ${want(rebuilt) ?? "none"})`,
    );
  else say(`the set's inventory is in the metadata of all ${recorded} canaries: a manifest rebuilt from the cloud is the one written`);
  return !failed.length && same;
}

function rebuildFromCloud(cfg: Config, c: Clients, setId: string, found: CloudCanary[]): CanaryManifest | undefined {
  const sites = [cfg.central, ...cfg.edges];
  return rebuildManifest(setId, found, {
    cloud: cloudOf(c),
    siteOrder: sites.map((s) => s.name),
    fsids: Object.fromEntries(sites.map((s) => [s.name, s.ceph.fsid])),
    nameOf: (site, kind) => resourceName(cfg.naming.prefix, plantRunOf(setId), site, `canary-${kind}`),
  });
}

/** The manifest from its file, or rebuilt from the canaries' marks in the cloud. */
async function manifestOf(
  cfg: Config,
  a: Args,
  clients: () => Promise<Clients>,
  say: (l: string) => void,
): Promise<{ manifest?: CanaryManifest; rebuilt: boolean }> {
  if (a.manifest) return { manifest: readManifest(a.manifest), rebuilt: false };
  const c = await clients();
  const found = await listCanaries(c, cfg, a.set);
  const manifest = rebuildFromCloud(cfg, c, a.set!, found);
  if (manifest) {
    say(`manifest of ${a.set} rebuilt from the marks of ${found.length} canaries in the cloud`);
    for (const s of manifest.sites) {
      if (s.everyCanaryGone) say(`[${s.site}] the set's record names the site, but no canary of the set there is in the cloud`);
      for (const x of s.canaries.filter((k) => k.onlyInInventory))
        say(`[${s.site}] ${x.kind} ${x.id}: named by the site's inventory, not in the cloud with the set's mark`);
    }
  }
  return { manifest, rebuilt: true };
}

async function verify(cfg: Config, configPath: string, a: Args, reportsRoot: string, say: (l: string) => void): Promise<number> {
  const c = await openSiteClients(cfg, cfg.central);
  const { manifest, rebuilt } = await manifestOf(cfg, a, async () => c, say);
  if (!manifest) throw new Error(`no canary of set ${a.set} is in the cloud: nothing to verify`);
  if (a["write-manifest"]) {
    writeManifest(a["write-manifest"], manifest);
    say(`wrote the rebuilt manifest to ${a["write-manifest"]}`);
  }
  const known = new Set([cfg.central.name, ...cfg.edges.map((e) => e.name)]);
  const unknown = manifest.sites.map((s) => s.site).filter((s) => !known.has(s));
  if (unknown.length) throw new ConfigError(`the manifest's sites ${unknown.join(", ")} are not in ${configPath}`, []);
  const asked = a.sites ? selectSites(cfg, a.sites) : undefined;
  const edges = manifest.sites.map((s) => s.site).filter((s) => !asked || asked.includes(s));
  if (!edges.length)
    throw new ConfigError(
      `--sites: no canary of ${manifest.setId} is there (its sites: ${manifest.sites.map((s) => s.site).join(", ")})`,
      [],
    );
  sameCloud(manifest, cloudOf(c));
  const { tier, notice } = selectTier(a.tier ?? "read-only", cfg.production, Boolean(a["allow-writes"]));
  if (notice) say(notice);
  const sel: Selection = {
    sites: [cfg.central.name, ...edges.filter((s) => s !== cfg.central.name)],
    suites: ["canary-verify"],
    tier,
    ...(a.tier !== undefined ? { tierGiven: true } : {}),
  };
  if (a.plan) return printPlan(cfg, sel);
  const out = await runVerification(cfg, configPath, sel, {
    reportsRoot,
    log: say,
    verbose: a.verbose,
    html: !a["no-html"],
    canary: { manifest, rebuilt },
  });
  if (out.summary) process.stdout.write(formatOutcome(out));
  const metrics = checkMetricsTargets(a);
  if (metrics.textfile === undefined && metrics.pushgateway === undefined) return out.exitCode;
  if (!out.summary) {
    say("no summary was written: no metrics exported");
    return out.exitCode || 1;
  }
  // NOTE: the verdict is the exit code; a verify that passed but whose metrics were lost exits 1.
  return out.exitCode || ((await exportMetrics(out.summary, cfg, metrics, say)) ? 0 : 1);
}

async function remove(cfg: Config, a: Args, say: (l: string) => void): Promise<number> {
  const c = await openSiteClients(cfg, cfg.central);
  const { manifest } = await manifestOf(cfg, a, async () => c, say);
  const setId = manifest?.setId ?? a.set!;
  if (manifest) sameCloud(manifest, cloudOf(c));
  const found = await listCanaries(c, cfg, setId);
  const byId = new Map<string, CloudCanary>(found.map((r) => [r.id, r]));
  const order = removalOrder(manifest, found);
  const gone = order.filter((r) => !byId.has(r.id));
  const refused = order.flatMap((r) => {
    const there = byId.get(r.id);
    const why = there ? notACanaryOf(there, setId, cfg) : [];
    return why.length ? [{ r, why }] : [];
  });
  const doomed = order.filter((r) => byId.has(r.id) && !refused.some((x) => x.r.id === r.id));
  for (const r of gone) say(`${r.canary} ${r.name} (${r.id}) at ${r.site}: already gone`);
  for (const { r, why } of refused)
    say(`${r.canary} ${r.name} (${r.id}) at ${r.site}: NOT removed, not proven the set's: ${why.join("; ")}`);
  if (a.plan) {
    for (const r of doomed) process.stdout.write(`would delete ${r.canary} ${r.name} (${r.id}) at ${r.site}\n`);
    return 0;
  }
  const { clientsOf } = await regionalClients(cfg, c);
  const t = timing(cfg.timeouts, "deletion");
  const done = await deleteAll(clientsOf, doomed, t, { log: (line, r) => say(`[${r.site}] ${line}`) });
  const rbd = await scanRbdLeftovers(cfg, done.deleted, { wait: t, log: say });
  for (const l of rbd.found) say(formatRbdLeftover(l));
  for (const n of rbd.notChecked) say(formatRbdNotChecked(n));
  say(
    `set ${setId}: ${done.deleted.length} deleted, ${done.failed.length} would not delete, ${refused.length} refused, ${gone.length} already gone` +
      (rbd.found.length ? `, ${rbd.found.length} rbd images left in the clusters` : ""),
  );
  return done.failed.length || refused.length || rbd.found.length ? 1 : 0;
}

/** A manifest is verified or removed only against the cloud it was planted in (Keystone URL and region). */
function sameCloud(m: CanaryManifest, now: CanaryManifest["cloud"]): void {
  if (m.cloud.authUrl !== now.authUrl || m.cloud.region !== now.region)
    throw new ConfigError(
      `the manifest of ${m.setId} is of cloud ${m.cloud.authUrl} region ${m.cloud.region || "-"}, the config's is ${now.authUrl} region ${now.region || "-"}`,
      [],
    );
}

function printPlan(cfg: Config, sel: Selection): number {
  process.stdout.write(`${formatPlan(planOf(cfg, sel))}\n`);
  return 0;
}
