import "../suites/index.ts";
import { loadConfig } from "../helpers/config/load.ts";
import type { Config } from "../helpers/config/schema.ts";
import { redactText } from "../helpers/core/redact.ts";
import { formatChecks, runChecks } from "../helpers/ops/doctor.ts";
import { select, type Selection } from "../helpers/ops/selection.ts";
import { configPathOf, parseCommand, SELECTION_OPTIONS, useOverlay } from "./args.ts";

const USAGE = `usage: dcn-verify doctor [--config FILE] [--sites dcn0,dcn1] [--suites ...] [--tests IDS] [--tier TIER] [--allow-writes]
  Checks what a run needs, one line per check with a hint when it fails: the config, the credentials, the
  service catalog, each endpoint, and each site's Ceph probe; then, for the tests the options select (as run
  takes them), the preflight: quotas against what those tests create, the flavor, the network, the admin role,
  and whether Glance may fetch from the web-download server. Exits 1 when a check fails.`;

export async function doctorCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, SELECTION_OPTIONS, USAGE);
  if (typeof parsed === "number") return parsed;
  const args = parsed.values;
  let cfg: Config;
  let path: string;
  let sel: Selection;
  try {
    useOverlay(args.overlay);
    path = configPathOf(args.config);
    cfg = await loadConfig(path);
    sel = select(cfg, { sites: args.sites, suites: args.suites, tests: args.tests, tier: args.tier, allowWrites: args["allow-writes"] });
  } catch (e) {
    process.stdout.write(
      `${formatChecks([{ name: "config", ok: false, detail: redactText((e as Error).message), hint: "fix the field named above" }])}\n`,
    );
    return 2;
  }
  const checks = [
    {
      name: "config",
      ok: true,
      detail: `${path}: central ${cfg.central.name}, edges ${cfg.edges.map((e) => e.name).join(", ")}; checking for sites ${sel.sites.join(", ")}, suites ${sel.suites.join(", ")}, tier ${sel.tier}`,
    },
    ...(await runChecks(cfg, sel)),
  ];
  process.stdout.write(`${formatChecks(checks)}\n`);
  return checks.some((c) => !c.ok) ? 1 : 0;
}
