/** How the harness reaches each site's Ceph: the Docker API shims (standard), cephadm's sshd or kolla's files. */
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { removeCephadmAccess } from "./cephadm.ts";
import { removeKollaConfig } from "./kolla-config.ts";
import { isRunning, startProcess, stopProcess, waitUntil } from "./procs.ts";
import { labSites, profileDef } from "./profiles/index.ts";
import { type LabState, paths, REPO_ROOT } from "./state.ts";

export function dockerSocket(site: string): string {
  return join(paths().sockets, `docker-${site}.sock`);
}

/** The cluster the probe-misdirected fault sends a site's container to: central's, or dcn0's for central. */
export const misdirectedTo = (site: string, sites: string[]) => (site === sites[0] ? sites[1]! : sites[0]!);

/** One process serves every site's Docker API socket. */
export async function ensureDockerShims(state: LabState, sites: string[]): Promise<void> {
  const script = join(REPO_ROOT, "lab", "docker-shim.ts");
  const name = "docker-api";
  const rec = state.processes[name];
  const misdirected = state.faults.filter((f) => f.kind === "probe-misdirected").map((f) => f.site);
  const want = sites.map((s) => `${s}${misdirected.includes(s) ? `:${misdirectedTo(s, sites)}` : ""}=${dockerSocket(s)}`);
  const serving = rec?.argv.filter((a) => a.includes("="));
  if (isRunning(rec) && sites.every((s) => existsSync(dockerSocket(s))) && JSON.stringify(serving) === JSON.stringify(want)) return;
  await stopProcess(state, name);
  for (const s of sites) rmSync(dockerSocket(s), { force: true });
  const started = startProcess(state, name, [process.execPath, "--import", "tsx", script, ...want.flatMap((w) => ["--serve", w])], {
    env: {},
  });
  await waitUntil(name, "every site's socket", async () => sites.every((s) => existsSync(dockerSocket(s))), 30000, started);
}

/** Fault cephadm-wrong-cluster: each such site's cephadm shell opens its neighbour's cluster. */
export function cephadmMisdirected(state: LabState): Record<string, string> {
  const sites = labSites(state);
  return Object.fromEntries(
    state.faults.filter((f) => f.kind === "cephadm-wrong-cluster").map((f) => [f.site, misdirectedTo(f.site, sites)]),
  );
}

/** Undoes how the harness reached the profile's Ceph: the sshd, its user and cephadm; kolla's files. */
export async function removeAccess(state: LabState): Promise<void> {
  const access = profileDef(state.profile).access.kind;
  if (access === "cephadm") await removeCephadmAccess(state);
  else if (access === "kolla") removeKollaConfig();
  else await stopProcess(state, "docker-api");
}
