import { describe, expect, test } from "vitest";
import type { VolumeService } from "../clients/volume.ts";
import { judgeBackupServices } from "./backup.ts";

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
