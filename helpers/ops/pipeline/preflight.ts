import type { Config } from "../../config/schema.ts";
import { tierAllows } from "../../harness/catalog.ts";
import { formatChecks } from "../doctor.ts";
import { preflightChecks } from "../preflight.ts";
import type { Selection } from "../selection.ts";
import type { Prepared } from "./prepare.ts";

/**
 * At tier standard and up, before anything is created: quotas, flavor, network, admin role, the web-download URL.
 * false: a need is unmet, and the run stops there (exit 2) having created nothing.
 */
export async function preflight(cfg: Config, sel: Selection, prep: Prepared, log: (line: string) => void): Promise<boolean> {
  if (!tierAllows(sel.tier, "standard")) return true;
  const checks = await preflightChecks(cfg, sel, prep.clients.session);
  for (const c of checks.filter((x) => !x.ok || x.warn)) log(`preflight: ${formatChecks([c])}`);
  const unmet = checks.filter((c) => !c.ok);
  if (unmet.length) {
    log(`preflight: ${unmet.length} need(s) unmet (${unmet.map((c) => c.name).join(", ")}); the run created nothing`);
    return false;
  }
  log(`preflight: ${checks.length} checks met`);
  return true;
}
