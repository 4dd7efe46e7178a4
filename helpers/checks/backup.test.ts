import { describe, expect, test } from "vitest";
import type { VolumeService } from "../clients/volume.ts";
import { CephTimeoutError } from "../ceph/probe.ts";
import { judgeBackupLanding, judgeBackupServices } from "./backup.ts";

const svc = (host: string, zone: string, state = "up", status = "enabled"): VolumeService => ({
  binary: "cinder-backup",
  host,
  zone,
  state,
  status,
});

describe("judgeBackupServices", () => {
  test("no backup service at all: none (not verified), not a failure", () => {
    expect(judgeBackupServices([], "dcn0")).toEqual({ kind: "none" });
  });

  test("an enabled, up service in the AZ: up", () => {
    expect(judgeBackupServices([svc("backup-dcn0", "dcn0"), svc("backup-central", "central", "down")], "dcn0")).toEqual({
      kind: "up",
      hosts: ["backup-dcn0"],
    });
  });

  test("the AZ's service down or disabled: down, naming the host and its state", () => {
    expect(judgeBackupServices([svc("backup-dcn0", "dcn0", "down"), svc("backup-central", "central")], "dcn0")).toEqual({
      kind: "down",
      detail: "cinder-backup in AZ dcn0: backup-dcn0 (AZ dcn0) enabled/down",
    });
    expect(judgeBackupServices([svc("backup-dcn0", "dcn0", "up", "disabled")], "dcn0")).toEqual({
      kind: "down",
      detail: "cinder-backup in AZ dcn0: backup-dcn0 (AZ dcn0) disabled/up",
    });
  });

  test("services only in other AZs: down, naming them", () => {
    expect(judgeBackupServices([svc("backup-central", "central")], "dcn0")).toEqual({
      kind: "down",
      detail: "no cinder-backup in AZ dcn0; the others: backup-central (AZ central) enabled/up",
    });
  });
});

describe("judgeBackupLanding: only the pool the site's backups are meant for counts", () => {
  // dcn0's backup of run 20261206t182158-e0b6 on the lab, where cinder-backup writes every backup to central's cluster; its rbd image named as Cinder's Ceph driver names a full backup.
  const BACKUP = "0588d831-1644-4b6d-b246-8c686ae0da98";
  const IMAGE = `volume-db32b8da-bbce-4dd2-9270-d2aa6a01a51a.backup.${BACKUP}`;
  const central = { site: "central", pool: "backups", images: [IMAGE] };
  const dcn0 = { site: "dcn0", pool: "backups", images: [] };

  test("the backup in the site's own pool lands; the same backup judged against central's pool, where it is meant to land, too", () => {
    expect(judgeBackupLanding(BACKUP, { ...dcn0, images: [IMAGE] }, [])).toEqual({ kind: "landed", where: "dcn0's backups" });
    expect(judgeBackupLanding(BACKUP, central, [dcn0])).toEqual({ kind: "landed", where: "central's backups" });
  });

  test("a backup that crossed to central's pool does not land in the edge's own: missing, naming where it is", () => {
    expect(judgeBackupLanding(BACKUP, dcn0, [central])).toEqual({ kind: "missing", elsewhere: ["central's backups"], unread: [] });
    expect(judgeBackupLanding(BACKUP, dcn0, [])).toEqual({ kind: "missing", elsewhere: [], unread: [] });
  });

  test("no Ceph access where it is meant to land is not verified; a pool that could not be read is the error, not a verdict", () => {
    expect(
      judgeBackupLanding(BACKUP, { site: "central", pool: "backups", noAccess: "no Ceph access (ceph.transport.kind none)" }, []),
    ).toEqual({
      kind: "not-verified",
      reason: "no Ceph access (ceph.transport.kind none)",
    });
    const timeout = new CephTimeoutError("central", "local", "rbd --cluster central -p backups ls -l --format json", 60000);
    expect(judgeBackupLanding(BACKUP, { site: "central", pool: "backups", error: timeout }, [])).toEqual({
      kind: "unread",
      error: timeout,
    });
    expect(judgeBackupLanding(BACKUP, dcn0, [{ site: "central", pool: "backups", error: timeout }])).toEqual({
      kind: "missing",
      elsewhere: [],
      unread: [
        "central's backups (ceph probe central (local): `rbd --cluster central -p backups ls -l --format json` did not finish within 60000 ms)",
      ],
    });
  });
});
