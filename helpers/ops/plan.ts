import type { Config } from "../config/schema.ts";
import { notApplicable, providerOf, roleOf, testsAt, tierAllows } from "../harness/catalog.ts";
import type { SuiteGroup, Tier } from "../harness/model.ts";
import { select } from "./selection.ts";

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

/** Per site, the catalog's tests the same options would run, and why the others would not. */
export function buildPlan(
  cfg: Config,
  o: { sites?: string; suites?: string; tests?: string; tier?: string; allowWrites?: boolean; shard?: string },
): Plan {
  return planOf(cfg, select(cfg, o));
}

/** The plan of a selection made elsewhere (the canary commands'). */
export function planOf(
  cfg: Config,
  { sites, suites, tests: only, tier, notice }: { sites: string[]; suites: SuiteGroup[]; tests?: string[]; tier: Tier; notice?: string },
): Plan {
  return {
    tier,
    notice,
    sites: sites
      .map((site) => {
        const role = roleOf(cfg, site);
        const tests: PlannedTest[] = [];
        for (const e of testsAt(role, suites, only)) {
          const blocked = (e.needs ?? [])
            .map((n) => providerOf(role, e.group, n)?.id ?? n)
            .find((id) => !tests.find((t) => t.id === id)?.runs);
          const na = notApplicable(e.id, cfg, site);
          const skip = na
            ? `not applicable: ${na}`
            : !tierAllows(tier, e.tier)
              ? `tier ${e.tier} is above --tier ${tier}`
              : blocked
                ? `needs ${blocked}, which does not run`
                : undefined;
          tests.push({
            id: e.id,
            group: e.group,
            tier: e.tier,
            runs: !skip,
            ...(skip ? { skip } : {}),
            creates: skip ? [] : [...e.creates, ...(tierAllows(tier, "standard") ? (e.createsWhenWritable ?? []) : [])],
          });
        }
        return { site, tests };
      })
      .filter((s) => s.tests.length > 0),
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
