import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { keyringPath } from "./ceph.ts";
import { LabError } from "./procs.ts";
import { type LabState, writeSecretFile } from "./state.ts";

/**
 * The kolla profile's deploy-host files (kolla-ansible external-ceph-guide.rst): each cluster's conf and the
 * services' keyrings under /etc/kolla/config/<service>/, named <cluster>.conf and <cluster>.client.<user>.keyring,
 * as the operator copies them there before `kolla-ansible deploy`. The harness runs rbd and ceph on this host with
 * cinder's, as a kolla operator without the admin keyring does.
 */
export const KOLLA_CONFIG = "/etc/kolla/config";
const MARK = join(KOLLA_CONFIG, ".dcn-verify-lab");

const FILES: { service: string; user: string }[] = [
  { service: "glance", user: "glance" },
  { service: "cinder/cinder-volume", user: "cinder" },
  { service: "nova", user: "cinder" },
];

export const kollaConf = (cluster: string) => join(KOLLA_CONFIG, "cinder", `${cluster}.conf`);
export const kollaCinderKeyring = (cluster: string) => join(KOLLA_CONFIG, "cinder", "cinder-volume", `${cluster}.client.cinder.keyring`);

export function writeKollaConfig(state: LabState, sites: string[]): void {
  if (existsSync(KOLLA_CONFIG) && !existsSync(MARK))
    throw new LabError(`${KOLLA_CONFIG} exists and is not the lab's: profile kolla would overwrite it; remove it or use another profile`);
  mkdirSync(KOLLA_CONFIG, { recursive: true });
  writeFileSync(MARK, "written by dcn-verify's lab (profile kolla); 'lab down' removes this folder\n");
  for (const site of sites) {
    const c = state.ceph[site];
    if (!c) continue;
    const conf = `[global]\nfsid = ${c.fsid}\nmon_host = [v1:127.0.0.1:${c.monPort}]\n`;
    for (const dir of ["glance", "cinder", "nova"]) {
      mkdirSync(join(KOLLA_CONFIG, dir), { recursive: true });
      writeFileSync(join(KOLLA_CONFIG, dir, `${site}.conf`), conf, { mode: 0o644 });
    }
    for (const f of FILES) {
      const src = keyringPath(site, `client.${f.user}`);
      if (!existsSync(src)) continue;
      mkdirSync(join(KOLLA_CONFIG, f.service), { recursive: true });
      writeSecretFile(join(KOLLA_CONFIG, f.service, `${site}.client.${f.user}.keyring`), readFileSync(src, "utf8"));
    }
  }
}

export function removeKollaConfig(): void {
  if (!existsSync(MARK)) return;
  rmSync(KOLLA_CONFIG, { recursive: true, force: true });
  if (readdirSync("/etc/kolla").length === 0) rmSync("/etc/kolla", { recursive: true, force: true });
}
