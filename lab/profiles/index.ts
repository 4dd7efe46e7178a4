import { type FaultKind, type LabProfile, type LabState, PROFILES } from "../state.ts";
import { kolla } from "./kolla.ts";
import { osp17 } from "./osp17.ts";
import { rhoso18 } from "./rhoso18.ts";
import { standard } from "./standard.ts";
import type { LabProfileDef } from "./types.ts";

export type { CephAccess, LabProfileDef } from "./types.ts";

/**
 * Every lab profile, by the name `lab up --profile` takes (state.ts's PROFILES, which the npm package's state.ts
 * keeps without the lab's code): a name there without its entry here does not compile.
 */
export const PROFILE_DEFS: { readonly [P in LabProfile]: LabProfileDef } = { standard, osp17, rhoso18, kolla };
export { PROFILES };

export function profileDef(profile: LabProfile | undefined): LabProfileDef {
  return PROFILE_DEFS[profile ?? "standard"];
}

/** The lab's sites, central first, as its profile names them. */
export function labSites(state: Pick<LabState, "edges" | "profile">): string[] {
  return profileDef(state.profile).siteNames(state.edges);
}

/** The profiles that own a fault; a fault no profile lists applies to every profile. */
export function faultOwners(kind: FaultKind): LabProfile[] {
  return PROFILES.filter((p) => (PROFILE_DEFS[p].faults as readonly FaultKind[]).includes(kind));
}
