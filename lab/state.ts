import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { labConfigPath, labDir } from "../helpers/config/lab-path.ts";
import { PACKAGE_ROOT } from "../helpers/core/package-root.ts";
import { registerSecret } from "../helpers/core/redact.ts";

export const REPO_ROOT = PACKAGE_ROOT;

export const MAX_EDGES = 8;

export const FAULT_KINDS = [
  "pools-renamed",
  "osd-down",
  "store-missing",
  "no-locations",
  "volume-down",
  "compute-down",
  "az-mismatch",
  "store-write-denied",
  "no-conversion",
  "ceph-caps-broad",
  "pool-missing",
  "mon-down",
  "probe-misdirected",
  "cinder-foreign",
  "glance-store-foreign",
  "backup-down",
  "volume-az-fallback",
  "host-hidden",
  "volume-quota",
  "glance-hardened",
  "cephadm-wrong-cluster",
  "openstack-caps-no-volumes",
  "edge-glance-default-central",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface ProcessRecord {
  pid: number;
  /** Process group id: the lab starts every service as a group leader. */
  pgid: number;
  argv: string[];
  log: string;
  startedAt: string;
}

/** The lab's shapes: the guide's (standard), and one per distribution operators run (lab/profiles/, docs/lab.md). */
export const PROFILES = ["standard", "osp17", "rhoso18", "kolla"] as const;
export type LabProfile = (typeof PROFILES)[number];

export interface LabState {
  /** Absent in a lab made before profiles: standard. */
  profile?: LabProfile;
  edges: number;
  done: string[];
  processes: Record<string, ProcessRecord>;
  faults: { site: string; kind: FaultKind; since: string }[];
  ceph: Record<string, { fsid: string; monPort: number }>;
  /** The sshd of a profile reached over ssh (cephadm), as the harness's transport reaches it. */
  sshd?: { host: string; port: number; user: string; identityFile: string; knownHostsFile: string };
}

export interface LabSecrets {
  admin: string;
  db: Record<string, string>;
  rabbit: string;
  services: Record<string, string>;
  /** The lab's non-admin user, for the policy checks. */
  member?: string;
}

export function paths() {
  const root = labDir();
  return {
    root,
    state: join(root, "state.json"),
    secrets: join(root, "secrets.json"),
    logs: join(root, "logs"),
    etc: join(root, "etc"),
    data: join(root, "data"),
    run: join(root, "run"),
    sockets: join(root, "sockets"),
    cloudsYaml: join(root, "clouds.yaml"),
    config: labConfigPath(),
    /** A distribution profile's overlay of its example config (hosts, ports, paths, fsids). */
    overlay: join(root, "overlay.yaml"),
  };
}

export function ensureDirs(): void {
  const p = paths();
  for (const d of [p.root, p.logs, p.etc, p.data, p.run, p.sockets]) mkdirSync(d, { recursive: true, mode: 0o700 });
  chmodSync(p.root, 0o700);
}

export function readState(): LabState | undefined {
  const p = paths();
  if (!existsSync(p.state)) return undefined;
  return JSON.parse(readFileSync(p.state, "utf8")) as LabState;
}

export function writeState(state: LabState): void {
  const p = paths();
  const tmp = `${p.state}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2), { mode: 0o600 });
  renameSync(tmp, p.state);
}

export function writeSecretFile(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

const DB_USERS = ["keystone", "glance", "cinder", "nova", "placement", "neutron"];
const SERVICE_USERS = ["glance", "cinder", "nova", "placement", "neutron"];

// NOTE: hex, because a base64url password may begin with "-", and rabbitmqctl add_user then reads it as options.
export function password(): string {
  return randomBytes(18).toString("hex");
}

export function loadOrCreateSecrets(): LabSecrets {
  const s = readOrCreateSecrets();
  allSecrets(s).forEach(registerSecret);
  return s;
}

function readOrCreateSecrets(): LabSecrets {
  const p = paths();
  if (existsSync(p.secrets)) {
    const s = JSON.parse(readFileSync(p.secrets, "utf8")) as LabSecrets;
    if (!s.member) {
      s.member = password();
      writeSecretFile(p.secrets, JSON.stringify(s, null, 2));
    }
    return s;
  }
  const secrets: LabSecrets = {
    admin: password(),
    db: Object.fromEntries(DB_USERS.map((u) => [u, password()])),
    rabbit: password(),
    services: Object.fromEntries(SERVICE_USERS.map((u) => [u, password()])),
    member: password(),
  };
  writeSecretFile(p.secrets, JSON.stringify(secrets, null, 2));
  return secrets;
}

/** Every secret of the lab, so a test can scan reports and logs for them. */
export function allSecrets(s: LabSecrets): string[] {
  return [s.admin, s.rabbit, ...Object.values(s.db), ...Object.values(s.services), ...(s.member ? [s.member] : [])];
}
