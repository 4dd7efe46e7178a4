import { cephadmMisdirected, ensureDockerShims } from "../access.ts";
import { writeClientConfig } from "../harness-config.ts";
import { requireSite, siteUp, waitForStatus } from "../lifecycle.ts";
import { LabAdmin } from "../os-admin.ts";
import { LabError } from "../procs.ts";
import { faultOwners, labSites, profileDef } from "../profiles/index.ts";
import { ensureCinder } from "../services/cinder.ts";
import { ensureGlance, glanceOptions } from "../services/glance.ts";
import { FAULT_KINDS, type FaultKind, type LabState, loadOrCreateSecrets, readState, writeState } from "../state.ts";
import type { LabStatus } from "../status.ts";
import type { FaultContext, FaultDef, HealAfter } from "./context.ts";
import { azMismatch } from "./az-mismatch.ts";
import { backupDown } from "./backup-down.ts";
import { cephCapsBroad } from "./ceph-caps-broad.ts";
import { cephadmWrongCluster } from "./cephadm-wrong-cluster.ts";
import { cinderForeign } from "./cinder-foreign.ts";
import { computeDown } from "./compute-down.ts";
import { edgeGlanceDefaultCentral } from "./edge-glance-default-central.ts";
import { glanceHardened } from "./glance-hardened.ts";
import { glanceStoreForeign } from "./glance-store-foreign.ts";
import { hostHidden } from "./host-hidden.ts";
import { monDown } from "./mon-down.ts";
import { noConversion } from "./no-conversion.ts";
import { noLocations } from "./no-locations.ts";
import { openstackCapsNoVolumes } from "./openstack-caps-no-volumes.ts";
import { osdDown } from "./osd-down.ts";
import { poolMissing } from "./pool-missing.ts";
import { poolsRenamed } from "./pools-renamed.ts";
import { probeMisdirected } from "./probe-misdirected.ts";
import { storeMissing } from "./store-missing.ts";
import { storeWriteDenied } from "./store-write-denied.ts";
import { volumeAzFallback } from "./volume-az-fallback.ts";
import { volumeDown } from "./volume-down.ts";
import { volumeQuota } from "./volume-quota.ts";

/** Every lab fault, one file each; a kind in state.ts's FAULT_KINDS without an entry here does not compile. */
export const FAULTS = {
  "osd-down": osdDown,
  "store-missing": storeMissing,
  "no-locations": noLocations,
  "no-conversion": noConversion,
  "glance-store-foreign": glanceStoreForeign,
  "store-write-denied": storeWriteDenied,
  "ceph-caps-broad": cephCapsBroad,
  "pool-missing": poolMissing,
  "pools-renamed": poolsRenamed,
  "volume-down": volumeDown,
  "mon-down": monDown,
  "probe-misdirected": probeMisdirected,
  "cinder-foreign": cinderForeign,
  "compute-down": computeDown,
  "az-mismatch": azMismatch,
  "backup-down": backupDown,
  "volume-az-fallback": volumeAzFallback,
  "host-hidden": hostHidden,
  "volume-quota": volumeQuota,
  "glance-hardened": glanceHardened,
  "cephadm-wrong-cluster": cephadmWrongCluster,
  "openstack-caps-no-volumes": openstackCapsNoVolumes,
  "edge-glance-default-central": edgeGlanceDefaultCentral,
} satisfies Record<FaultKind, FaultDef>;

/** Applies a fault and waits until it shows where it should; 'lab status' tells the rest. */
export async function fault(site: string, kind: string): Promise<void> {
  const state = readState();
  if (!state) throw new LabError("the lab is not up: run 'dcn-verify lab up' first");
  if (!FAULT_KINDS.includes(kind as FaultKind)) throw new LabError(`unknown fault kind '${kind}': one of ${FAULT_KINDS.join(", ")}`);
  requireSite(state, site);
  const k = kind as FaultKind;
  const owners = faultOwners(k);
  const profile = state.profile ?? "standard";
  if (owners.length && !owners.includes(profile))
    throw new LabError(`fault ${k} breaks what only profile ${owners.join(" or ")} has; this lab has profile ${profile}`);
  const sites = labSites(state);
  const refused = FAULTS[k].refuse?.({ site, sites, backupSites: profileDef(state.profile).cinder.backupSites(sites) });
  if (refused) throw new LabError(refused);
  if (!state.faults.some((f) => f.site === site && f.kind === k)) state.faults.push({ site, kind: k, since: new Date().toISOString() });
  writeState(state);
  await FAULTS[k].apply(faultContext(state, site));
}

/** What a fault's apply and heal get of the lab (context.ts). */
function faultContext(state: LabState, site: string): FaultContext {
  const secrets = loadOrCreateSecrets();
  const sites = labSites(state);
  return {
    state,
    secrets,
    admin: new LabAdmin(secrets.admin),
    sites,
    site,
    backupSites: profileDef(state.profile).cinder.backupSites(sites),
    glanceOptions: () => glanceOptions(state),
    waitForStatus: (done, timeoutMs) => waitForStatus(state, done, timeoutMs),
    ensureDockerShims: () => ensureDockerShims(state, sites),
    writeClientConfig: () => writeClientConfig(state, secrets),
    cephadmMisdirected: () => cephadmMisdirected(state),
  };
}

export async function heal(site?: string): Promise<LabStatus> {
  const state = readState();
  if (!state) throw new LabError("the lab is not up: run 'dcn-verify lab up' first");
  if (site) requireSite(state, site);
  const healing = state.faults.filter((f) => !site || f.site === site);
  state.faults = state.faults.filter((f) => !healing.includes(f));
  writeState(state);
  const after = new Set<HealAfter>();
  for (const f of healing) after.add(await FAULTS[f.kind].heal(faultContext(state, f.site)));
  const secrets = loadOrCreateSecrets();
  const sites = labSites(state);
  // ensureCinder starts the cinder-backup services that are not running, and gives them time to report.
  if (after.has("start-backups"))
    await ensureCinder(
      state,
      secrets,
      sites,
      state.faults.filter((f) => f.kind === "volume-down").map((f) => f.site),
    );
  if (after.has("restart-glance")) await ensureGlance(state, secrets, sites, glanceOptions(state), true);
  // NOTE: with a site given, other sites may keep faults of their own: only this site must come back.
  return waitForStatus(state, (s) => (site ? siteUp(s, site) : s.allUp || s.faults.length > 0), 120000, { ceph: site ? [site] : true });
}
