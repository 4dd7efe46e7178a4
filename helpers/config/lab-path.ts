import { join, resolve } from "node:path";
import { PACKAGE_ROOT } from "../core/package-root.ts";

/** The embedded lab's folder: $DCN_LAB_DIR, else .lab in the package root (lab/state.ts keeps the lab there). */
export function labDir(): string {
  return resolve(process.env.DCN_LAB_DIR ?? join(PACKAGE_ROOT, ".lab"));
}

/** The harness config the embedded lab writes (lab/harness-config.ts): what a command reads when nothing else is given. */
export function labConfigPath(): string {
  return join(labDir(), "dcn-verify.yaml");
}
