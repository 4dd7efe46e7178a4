import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The dcn-verify package's own folder (where package.json, fixtures/ and node_modules/ are). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
