/**
 * The embedded lab's entry (docs/lab.md): packages, lifecycle (up, status, restart, down), faults and heal, and what
 * the lab's own tests reach into.
 */
export { dockerSocket } from "./access.ts";
export { fault, heal } from "./faults/index.ts";
export { down, requireSite, restartOpenStack, siteUp, status, up, type UpOptions } from "./lifecycle.ts";
export { ensurePackages } from "./packages.ts";
export { ensureGlanceUp, killGlance } from "./services/glance.ts";
