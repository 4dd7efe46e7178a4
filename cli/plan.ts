import "../suites/index.ts";
import { openSession } from "../helpers/clients/identity.ts";
import { recordRequests } from "../helpers/clients/index.ts";
import { loadConfig } from "../helpers/config/load.ts";
import type { Config } from "../helpers/config/schema.ts";
import { redactText } from "../helpers/core/redact.ts";
import { buildPlan, formatPlan, type Plan } from "../helpers/ops/plan.ts";
import { configPathOf, parseCommand, SELECTION_OPTIONS, useOverlay } from "./args.ts";

const USAGE = `usage: dcn-verify plan [--config FILE] [--sites dcn0,dcn1] [--suites GROUPS] [--tests IDS] [--tier TIER] [--allow-writes] [--shard I/N] [--json]
       dcn-verify plan canary plant|verify|remove [the canary command's options]
  A dry run: per site, the tests 'dcn-verify run' would run with the same options, their tier, and what they
  would create. With --shard, the sites of that shard only. It authenticates to check the credentials and calls
  nothing else. 'plan canary' is 'dcn-verify canary ... --plan': what plant and verify would run and create, and
  the canaries remove would delete (it lists them), changing nothing.`;

export async function planCommand(argv: string[]): Promise<number> {
  if (argv[0] === "canary") {
    const { canaryCommand } = await import("./canary.ts");
    return canaryCommand([...argv.slice(1), "--plan"]);
  }
  const parsed = parseCommand(argv, { ...SELECTION_OPTIONS, json: { type: "boolean" }, shard: { type: "string" } }, USAGE);
  if (typeof parsed === "number") return parsed;
  const args = parsed.values;
  let cfg: Config;
  let plan: Plan;
  try {
    useOverlay(args.overlay);
    cfg = await loadConfig(configPathOf(args.config));
    plan = buildPlan(cfg, {
      sites: args.sites,
      suites: args.suites,
      tests: args.tests,
      tier: args.tier,
      allowWrites: args["allow-writes"],
      shard: args.shard,
    });
  } catch (e) {
    process.stderr.write(`dcn-verify plan: ${redactText((e as Error).message)}\n`);
    return 2;
  }
  try {
    recordRequests();
    const session = await openSession(cfg);
    const a = session.credentials.auth;
    const how = { password: "password", token: "a pre-issued token", v3applicationcredential: "an application credential" }[a.type];
    process.stderr.write(
      `credentials: cloud ${session.credentials.cloud}, authenticated to ${a.authUrl} as ${session.userName} (${how}), project ${session.projectName ?? "-"}\n`,
    );
  } catch (e) {
    process.stderr.write(`dcn-verify plan: cannot authenticate: ${redactText((e as Error).message)}\n`);
    return 1;
  }
  process.stdout.write(args.json ? `${JSON.stringify(plan, null, 2)}\n` : `${formatPlan(plan)}\n`);
  return 0;
}
