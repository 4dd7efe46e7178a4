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
