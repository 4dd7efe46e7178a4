import { chownSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { keyringPath } from "./ceph.ts";
import { isRunning, LabError, portOpen, startProcess, stopProcess, waitUntil } from "./procs.ts";
import { prepareSshd } from "./sshd.ts";
import { type LabState, paths, writeSecretFile, writeState } from "./state.ts";

/**
 * The way into each site's Ceph of the profiles shaped like cephadm deployments (osp17, rhoso18): ssh to a Ceph
 * host (a Debian OpenSSH server on loopback) as an unprivileged user whose sudo allows only `cephadm`, then
 * `sudo -n cephadm shell --fsid <fsid> -- rbd|ceph …`, as an OSP 17 operator does as tripleo-admin and a RHOSO one
 * as cloud-admin on an EDPM node.
 *
 * The `cephadm` here is the lab's stand-in for cephadm 16's `shell`: the same options (--fsid, --config,
 * --keyring, `--` then the command), the cluster found by fsid under <lab>/cephadm/clusters/<fsid>/config (where
 * cephadm keeps /var/lib/ceph/<fsid>/config), and the same file view: the command runs in a mount namespace whose
 * /etc/ceph holds only ceph.conf (a minimal conf: fsid and mon_host) and ceph.keyring (client.admin's unless
 * --keyring names another). What differs from cephadm: the command runs on the host's rbd and ceph, not in the
 * Ceph container image, and the stand-in provides `shell` only. Every command is logged, one line each, to
 * <lab>/cephadm/commands.log.
 */
export const CEPHADM = "/usr/local/sbin/cephadm";
const MARK = "# dcn-verify lab: cephadm stand-in";
const SUDOERS = "/etc/sudoers.d/dcnv-lab";
const SSHD = "sshd-cephadm";
const PORT = 2222;

export const cephadmDir = () => join(paths().root, "cephadm");
export const cephadmLog = () => join(cephadmDir(), "commands.log");
const homeOf = (user: string) => `/var/lib/${user}`;

function script(root: string): string {
  return `#!/bin/bash
${MARK} (lab/cephadm.ts); only 'shell', as cephadm 16 runs it.
set -uo pipefail
ROOT='${root}'
die() { echo "ERROR: $*" >&2; exit 1; }
[ "\${1:-}" = shell ] || die "this lab's cephadm provides only 'shell' (got: \${1:-nothing})"
shift
fsid= config= keyring=
while [ $# -gt 0 ]; do
  case "$1" in
    --fsid|-c|--config|-k|--keyring) [ $# -ge 2 ] || die "$1 needs a value" ;;
  esac
  case "$1" in
    --fsid) fsid=$2; shift 2 ;;
    --fsid=*) fsid=\${1#*=}; shift ;;
    -c|--config) config=$2; shift 2 ;;
    --config=*) config=\${1#*=}; shift ;;
    -k|--keyring) keyring=$2; shift 2 ;;
    --keyring=*) keyring=\${1#*=}; shift ;;
    --) shift; break ;;
    -*) echo "cephadm shell: error: unrecognized arguments: $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || die "no command given: this lab's cephadm runs one command, not an interactive shell"
if [ -z "$fsid" ]; then
  fsids=$(ls "$ROOT/clusters" 2>/dev/null)
  [ "$(printf '%s\\n' "$fsids" | grep -c .)" = 1 ] || die "Cannot infer an fsid, one must be specified (using --fsid): [$(echo $fsids)]"
  fsid=$fsids
fi
[[ "$fsid" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] || die "not an fsid: $fsid"
dir="$ROOT/clusters/$fsid/config"
[ -n "$config" ] || config="$dir/ceph.conf"
[ -n "$keyring" ] || keyring="$dir/ceph.client.admin.keyring"
[ -f "$config" ] || die "no ceph.conf for fsid $fsid on this host ($config)"
[ -f "$keyring" ] || die "no keyring for fsid $fsid on this host ($keyring)"
# NOTE: as cephadm's infer_fsid does, a config that names another cluster is refused.
conf_fsid=$(sed -n 's/^[[:space:]]*fsid[[:space:]]*=[[:space:]]*//p' "$config" | head -n 1)
[ "$conf_fsid" = "$fsid" ] || die "fsid does not match ceph.conf"
view=$(mktemp -d /tmp/dcnv-cephadm.XXXXXX)
trap 'rm -rf "$view"' EXIT
cp "$config" "$view/ceph.conf"
install -m 600 "$keyring" "$view/ceph.keyring"
printf '%s\\t%s\\t%s\\t%s\\n' "$(date -u +%FT%TZ)" "\${SUDO_USER:-$(id -un)}" "$fsid" "$*" >> "$ROOT/commands.log"
unshare --mount --propagation private /bin/sh -c 'mount --bind "$0" /etc/ceph && exec "$@"' "$view" "$@"
`;
}

/** A minimal ceph.conf, as `ceph config generate-minimal-conf` writes it for cephadm. */
const minimalConf = (fsid: string, monPort: number) =>
  `# minimal ceph.conf for ${fsid}\n[global]\n\tfsid = ${fsid}\n\tmon_host = [v1:127.0.0.1:${monPort}]\n`;

/**
 * Writes, for every site, the cluster config cephadm finds by the site's fsid. A site in `misdirected` gets the
 * named other site's conf and admin keyring under its own fsid (fault cephadm-wrong-cluster: a host whose
 * cephadm shell opens another cluster).
 */
export function writeCephadmClusters(state: LabState, sites: string[], misdirected: Record<string, string> = {}): void {
  const root = join(cephadmDir(), "clusters");
  rmSync(root, { recursive: true, force: true });
  for (const site of sites) {
    const from = misdirected[site] ?? site;
    const c = state.ceph[from];
    const own = state.ceph[site];
    if (!c || !own) continue;
    const dir = join(root, own.fsid, "config");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, "ceph.conf"), minimalConf(c.fsid, c.monPort), { mode: 0o644 });
    writeSecretFile(join(dir, "ceph.client.admin.keyring"), readFileSync(keyringPath(from, "client.admin"), "utf8"));
  }
}

const userMark = (user: string) => join(homeOf(user), ".dcn-verify-lab");

/**
 * A system user with /bin/sh (no login scripts run per command), whose sudo allows cephadm only. A user of that name
 * the lab did not make (no mark in its home) is refused, never taken over.
 */
async function ensureSshUser(user: string): Promise<{ uid: number; gid: number }> {
  if ((await execa("id", ["-u", user], { reject: false })).exitCode !== 0) {
    await execa("useradd", ["--system", "--shell", "/bin/sh", "--home-dir", homeOf(user), "--create-home", user]);
    writeFileSync(userMark(user), "made by dcn-verify's lab; 'lab down' removes this user\n");
  } else if (!existsSync(userMark(user)))
    throw new LabError(
      `a user ${user} exists on this machine and is not the lab's: the profile would take it over; remove it or use another profile`,
    );
  // NOTE: useradd leaves the password '!' (locked), and sshd without PAM refuses a locked account even for a key.
  await execa("usermod", ["-p", "*", user]);
  const tmp = `${SUDOERS}.tmp`;
  writeFileSync(tmp, `${user} ALL=(root) NOPASSWD: ${CEPHADM}\n`, { mode: 0o440 });
  const check = await execa("visudo", ["-c", "-f", tmp], { reject: false });
  if (check.exitCode !== 0) throw new LabError(`visudo refused the lab's sudoers entry: ${check.stderr || check.stdout}`);
  renameSync(tmp, SUDOERS);
  const uid = Number((await execa("id", ["-u", user])).stdout.trim());
  const gid = Number((await execa("id", ["-g", user])).stdout.trim());
  return { uid, gid };
}

function installStandIn(): void {
  if (existsSync(CEPHADM) && !readFileSync(CEPHADM, "utf8").includes(MARK))
    throw new LabError(
      `${CEPHADM} exists and is not the lab's stand-in: the cephadm profiles would shadow it; remove it or use profile standard`,
    );
  mkdirSync(cephadmDir(), { recursive: true, mode: 0o700 });
  writeFileSync(`${CEPHADM}.tmp`, script(cephadmDir()), { mode: 0o755 });
  renameSync(`${CEPHADM}.tmp`, CEPHADM);
}

/** Installs the stand-in and starts (or keeps) the sshd, recording how the harness reaches it. */
export async function ensureCephadmAccess(
  state: LabState,
  user: string,
  sites: string[],
  misdirected: Record<string, string>,
): Promise<void> {
  if (state.sshd && state.sshd.user !== user) await removeCephadmAccess(state);
  installStandIn();
  writeCephadmClusters(state, sites, misdirected);
  const { uid, gid } = await ensureSshUser(user);
  const sshDir = join(homeOf(user), ".ssh");
  mkdirSync(sshDir, { recursive: true, mode: 0o700 });
  chownSync(sshDir, uid, gid);
  const authorizedKeysFile = join(sshDir, "authorized_keys");
  const { argv, endpoint } = await prepareSshd({ stateDir: join(paths().root, "sshd", "cephadm"), port: PORT, user, authorizedKeysFile });
  chownSync(authorizedKeysFile, uid, gid);
  state.sshd = {
    host: endpoint.host,
    port: endpoint.port,
    user: endpoint.user,
    identityFile: endpoint.identityFile,
    knownHostsFile: endpoint.knownHostsFile,
  };
  writeState(state);
  const rec = state.processes[SSHD];
  if (isRunning(rec) && JSON.stringify(rec!.argv) === JSON.stringify(argv)) return;
  await stopProcess(state, SSHD);
  const started = startProcess(state, SSHD, argv);
  await waitUntil(SSHD, `sshd listening on 127.0.0.1:${PORT}`, () => portOpen(PORT), 30000, started);
}

/** Stops the sshd, removes the ssh user, its sudoers entry and the stand-in: what 'lab down' undoes of it. */
export async function removeCephadmAccess(state: LabState): Promise<void> {
  await stopProcess(state, SSHD);
  rmSync(SUDOERS, { force: true });
  const user = state.sshd?.user;
  if (user && existsSync(userMark(user))) {
    await execa("userdel", ["--remove", user], { reject: false });
    rmSync(homeOf(user), { recursive: true, force: true });
  }
  if (existsSync(CEPHADM) && readFileSync(CEPHADM, "utf8").includes(MARK)) rmSync(CEPHADM, { force: true });
  rmSync(join(cephadmDir(), "clusters"), { recursive: true, force: true });
  delete state.sshd;
  writeState(state);
}

/** The commands the stand-in ran, oldest first: who ran them, for which fsid, and the command line. */
export function cephadmCommands(): { at: string; user: string; fsid: string; command: string }[] {
  if (!existsSync(cephadmLog())) return [];
  return readFileSync(cephadmLog(), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [at = "", user = "", fsid = "", command = ""] = l.split("\t");
      return { at, user, fsid, command };
    });
}
