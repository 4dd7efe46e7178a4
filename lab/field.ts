import { chownSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { isRunning, LabError, portOpen, startProcess, stopProcess, waitUntil } from "./procs.ts";
import { prepareSshd } from "./sshd.ts";
import { type LabState, paths, writeState } from "./state.ts";

/**
 * The field profile's way into each site's Ceph: ssh to a host (a Debian OpenSSH server on loopback) as an
 * unprivileged user that may run only `sudo -n rbd|ceph`, as an OSP 17 operator does with tripleo-admin.
 */
export const FIELD_SSH_USER = "dcnv-ceph";
const HOME = "/var/lib/dcnv-ceph";
const SUDOERS = "/etc/sudoers.d/dcnv-lab";
const SSHD = "sshd-field";
const PORT = 2222;

/** A system user with /bin/sh (no login scripts run per command), allowed sudo for rbd and ceph only. */
async function ensureSshUser(): Promise<{ uid: number; gid: number }> {
  if ((await execa("id", ["-u", FIELD_SSH_USER], { reject: false })).exitCode !== 0)
    await execa("useradd", ["--system", "--shell", "/bin/sh", "--home-dir", HOME, "--create-home", FIELD_SSH_USER]);
  // NOTE: useradd leaves the password '!' (locked), and sshd without PAM refuses a locked account even for a key.
  await execa("usermod", ["-p", "*", FIELD_SSH_USER]);
  const tmp = `${SUDOERS}.tmp`;
  writeFileSync(tmp, `${FIELD_SSH_USER} ALL=(root) NOPASSWD: /usr/bin/rbd, /usr/bin/ceph\n`, { mode: 0o440 });
  const check = await execa("visudo", ["-c", "-f", tmp], { reject: false });
  if (check.exitCode !== 0) throw new LabError(`visudo refused the lab's sudoers entry: ${check.stderr || check.stdout}`);
  renameSync(tmp, SUDOERS);
  const uid = Number((await execa("id", ["-u", FIELD_SSH_USER])).stdout.trim());
  const gid = Number((await execa("id", ["-g", FIELD_SSH_USER])).stdout.trim());
  return { uid, gid };
}

/** Starts (or keeps) the field profile's sshd, and records how the harness reaches it. */
export async function ensureFieldSshd(state: LabState): Promise<void> {
  const { uid, gid } = await ensureSshUser();
  const sshDir = join(HOME, ".ssh");
  mkdirSync(sshDir, { recursive: true, mode: 0o700 });
  chownSync(sshDir, uid, gid);
  const authorizedKeysFile = join(sshDir, "authorized_keys");
  const { argv, endpoint } = await prepareSshd({
    stateDir: join(paths().root, "sshd", "field"),
    port: PORT,
    user: FIELD_SSH_USER,
    authorizedKeysFile,
  });
  chownSync(authorizedKeysFile, uid, gid);
  state.sshd = {
    host: endpoint.host,
    port: endpoint.port,
    user: endpoint.user,
    identityFile: endpoint.identityFile,
    knownHostsFile: endpoint.knownHostsFile,
  };
  writeState(state);
  if (isRunning(state.processes[SSHD])) return;
  const rec = startProcess(state, SSHD, argv);
  await waitUntil(SSHD, `sshd listening on 127.0.0.1:${PORT}`, () => portOpen(PORT), 30000, rec);
}

/** Stops the sshd and removes the ssh user and its sudoers entry: what 'lab down' undoes of the field profile. */
export async function removeFieldAccess(state: LabState): Promise<void> {
  await stopProcess(state, SSHD);
  rmSync(SUDOERS, { force: true });
  if ((await execa("id", ["-u", FIELD_SSH_USER], { reject: false })).exitCode === 0)
    await execa("userdel", ["--remove", FIELD_SSH_USER], { reject: false });
  if (existsSync(HOME)) rmSync(HOME, { recursive: true, force: true });
}
