import { loadConfig } from "../helpers/config/load.ts";
import type { Config } from "../helpers/config/schema.ts";
import { redactText } from "../helpers/core/redact.ts";
import { formatChecks, runChecks } from "../helpers/ops/doctor.ts";
import { configPathOf, parseCommand } from "./args.ts";

const USAGE = `usage: dcn-verify doctor [--config FILE]
  Checks what a run needs, one line per check with a hint when it fails: the config, the credentials, the
  service catalog, each endpoint, and each site's Ceph probe. Exits 1 when a check fails.`;

export async function doctorCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, { config: { type: "string" } }, USAGE);
  if (typeof parsed === "number") return parsed;
  const args = parsed.values;
  let cfg: Config;
  let path: string;
  try {
    path = configPathOf(args.config);
    cfg = await loadConfig(path);
  } catch (e) {
    process.stdout.write(
      `${formatChecks([{ name: "config", ok: false, detail: redactText((e as Error).message), hint: "fix the field named above" }])}\n`,
    );
    return 2;
  }
  const checks = [
    { name: "config", ok: true, detail: `${path}: central ${cfg.central.name}, edges ${cfg.edges.map((e) => e.name).join(", ")}` },
    ...(await runChecks(cfg)),
  ];
  process.stdout.write(`${formatChecks(checks)}\n`);
  return checks.some((c) => !c.ok) ? 1 : 0;
}
