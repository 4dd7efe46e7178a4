import type { VolumeService } from "../clients/volume.ts";

export type BackupServices =
  /** No cinder-backup service is registered at all: the cloud offers no backups, so there is nothing to verify. */
  | { kind: "none" }
  | { kind: "up"; hosts: string[] }
  /** Backup services exist, but none in the AZ is enabled and up: a backup there cannot be made. */
  | { kind: "down"; detail: string };

const line = (s: VolumeService) => `${s.host} (AZ ${s.zone ?? "none"}) ${s.status}/${s.state}`;

/**
 * Whether a backup can be made in the AZ, from Cinder's cinder-backup services.
 * NOTE: Cinder schedules a backup on a backup service in the volume's AZ, so a service up elsewhere does not help.
 */
export function judgeBackupServices(services: VolumeService[], az: string): BackupServices {
  const backup = services.filter((s) => s.binary === "cinder-backup");
  if (!backup.length) return { kind: "none" };
  const here = backup.filter((s) => s.zone === az);
  const up = here.filter((s) => s.status === "enabled" && s.state === "up");
  if (up.length) return { kind: "up", hosts: up.map((s) => s.host) };
  return {
    kind: "down",
    detail: here.length
      ? `cinder-backup in AZ ${az}: ${here.map(line).join(", ")}`
      : `no cinder-backup in AZ ${az}; the others: ${backup.map(line).join(", ")}`,
  };
}

/** A backups pool as read for conf-14: its rbd image names, or why they were not read. */
export type BackupsPoolRead = { site: string; pool: string } & ({ images: string[] } | { error: unknown } | { noAccess: string });

export type BackupLanding =
  /** The backup's rbd image is in the pool it is meant to land in. */
  | { kind: "landed"; where: string }
  /** The runner has no Ceph access at the site whose pool it is meant to land in. */
  | { kind: "not-verified"; reason: string }
  /** That pool could not be read: the error as thrown (a timeout, an unreachable site, a missing pool). */
  | { kind: "unread"; error: unknown }
  /** Not in that pool: where else it was found, and which other pools could not be read. */
  | { kind: "missing"; elsewhere: string[]; unread: string[] };

const label = (r: BackupsPoolRead) => `${r.site}'s ${r.pool}`;

/**
 * Whether a backup landed in the backups pool it is meant to (the site's own, or conformance.backupsSite's): only that
 * pool counts. NOTE: Cinder's Ceph driver names a full backup's rbd image `volume-<volume id>.backup.<backup id>`.
 */
export function judgeBackupLanding(backupId: string, expected: BackupsPoolRead, others: BackupsPoolRead[]): BackupLanding {
  if ("noAccess" in expected) return { kind: "not-verified", reason: expected.noAccess };
  if ("error" in expected) return { kind: "unread", error: expected.error };
  const holds = (images: string[]) => images.some((n) => n.includes(backupId));
  if (holds(expected.images)) return { kind: "landed", where: label(expected) };
  return {
    kind: "missing",
    elsewhere: others.flatMap((o) => ("images" in o && holds(o.images) ? [label(o)] : [])),
    unread: others.flatMap((o) =>
      "error" in o ? [`${label(o)} (${(o.error instanceof Error ? o.error.message : String(o.error)).split("\n")[0]})`] : [],
    ),
  };
}
