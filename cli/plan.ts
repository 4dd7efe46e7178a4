import { parseCommand } from "./args.ts";
import { recordRequests } from "../helpers/clients/index.ts";
import { openSession } from "../helpers/clients/identity.ts";
import { loadConfig, resolveConfigPath, type Config } from "../helpers/config.ts";
import { redactText } from "../helpers/redact.ts";
import type { SuiteGroup } from "../helpers/run-context.ts";
import { CATALOG, tierAllows, type Tier } from "../suites/catalog.ts";
import { checkKnownIssues, selectSites, selectSuites, selectTier } from "./run.ts";

const USAGE = `usage: dcn-verify plan [--config FILE] [--sites dcn0,dcn1] [--suites GROUPS] [--tier TIER] [--allow-writes] [--json]
  A dry run: per site, the tests 'dcn-verify run' would run with the same options, their tier, and what they
  would create. It authenticates to check the credentials and calls nothing else.`;

export interface PlannedTest {
  id: string;
  group: SuiteGroup;
  tier: Tier;
  runs: boolean;
  /** Why it would not run. */
  skip?: string;
  creates: string[];
}

export interface Plan {
  tier: Tier;
  notice?: string;
  sites: { site: string; tests: PlannedTest[] }[];
}

export function buildPlan(cfg: Config, o: { sites?: string; suites?: string; tier?: string; allowWrites?: boolean }): Plan {
  checkKnownIssues(cfg);
  const suites = selectSuites(o.suites);
  const sites = selectSites(cfg, o.sites);
  const { tier, notice } = selectTier(o.tier, cfg.production, Boolean(o.allowWrites));
  return {
    tier,
    notice,
    sites: sites.map((site, i) => {
      const tests: PlannedTest[] = [];
      for (const e of CATALOG.filter((x) => (x.where === "every" || x.where === (i === 0 ? "central" : "edge")) && suites.includes(x.group))) {
        const blocked = (e.needs ?? []).find((n) => !tests.find((t) => t.id === n)?.runs);
        const skip = !tierAllows(tier, e.tier) ? `tier ${e.tier} is above --tier ${tier}` : blocked ? `needs ${blocked}, which does not run` : undefined;
        tests.push({ id: e.id, group: e.group, tier: e.tier, runs: !skip, ...(skip ? { skip } : {}), creates: skip ? [] : e.creates });
      }
      return { site, tests };
    }).filter((s) => s.tests.length > 0),
  };
}

export function formatPlan(plan: Plan): string {
  const lines = [`tier: ${plan.tier}${plan.notice ? ` (${plan.notice})` : ""}`];
  for (const s of plan.sites) {
    const running = s.tests.filter((t) => t.runs).length;
    lines.push("", `${s.site}: ${running} of ${s.tests.length} tests`);
    const w = Math.max(...s.tests.map((t) => t.id.length));
    for (const t of s.tests) {
      const what = t.runs ? (t.creates.length ? `creates: ${t.creates.join("; ")}` : "creates nothing") : `SKIP: ${t.skip}`;
      lines.push(`  ${t.id.padEnd(w)}  ${t.tier.padEnd(10)}  ${what}`);
    }
  }
  return lines.join("\n");
}

export async function planCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, {
    config: { type: "string" }, sites: { type: "string" }, suites: { type: "string" }, tier: { type: "string" }, "allow-writes": { type: "boolean" }, json: { type: "boolean" },
  }, USAGE);
  if (typeof parsed === "number") return parsed;
  const args = parsed.values;
  let cfg: Config;
  let plan: Plan;
  try {
    cfg = await loadConfig(resolveConfigPath(args.config));
    plan = buildPlan(cfg, { sites: args.sites, suites: args.suites, tier: args.tier, allowWrites: args["allow-writes"] });
  } catch (e) {
    process.stderr.write(`dcn-verify plan: ${redactText((e as Error).message)}\n`);
    return 2;
  }
  try {
    recordRequests();
    const session = await openSession(cfg);
    const a = session.credentials.auth;
    const who = a.type === "password" ? (a.username ?? a.userId ?? "?") : "an application credential";
    process.stderr.write(`credentials: authenticated to ${a.authUrl} as ${who}, project ${session.projectName ?? "-"}\n`);
  } catch (e) {
    process.stderr.write(`dcn-verify plan: cannot authenticate: ${redactText((e as Error).message)}\n`);
    return 1;
  }
  process.stdout.write(args.json ? `${JSON.stringify(plan, null, 2)}\n` : `${formatPlan(plan)}\n`);
  return 0;
}
