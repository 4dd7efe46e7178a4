import type { FaultKind, LabProfile, LabState } from "../state.ts";
import { kolla } from "./kolla.ts";
import { osp17 } from "./osp17.ts";
import { rhoso18 } from "./rhoso18.ts";
import { standard } from "./standard.ts";
import type { LabProfileDef } from "./types.ts";

export type { CephAccess, LabProfileDef } from "./types.ts";

/** Every lab profile; a profile named in state.ts's PROFILES and missing here does not compile. */
export const PROFILE_DEFS: { readonly [P in LabProfile]: LabProfileDef } = { standard, osp17, rhoso18, kolla };

export function profileDef(profile: LabProfile | undefined): LabProfileDef {
  return PROFILE_DEFS[profile ?? "standard"];
}

/** The lab's sites, central first, as its profile names them. */
export function labSites(state: Pick<LabState, "edges" | "profile">): string[] {
  return profileDef(state.profile).siteNames(state.edges);
}

/** The profiles that own a fault; a fault no profile lists applies to every profile. */
export function faultOwners(kind: FaultKind): LabProfile[] {
  return (Object.keys(PROFILE_DEFS) as LabProfile[]).filter((p) => PROFILE_DEFS[p].faults.includes(kind));
}
