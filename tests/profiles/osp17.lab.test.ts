import { execa } from "execa";
import { describe, expect, test } from "vitest";
import { cephadmCommands } from "../../lab/cephadm.ts";
import { testOf, withFault } from "../e2e/testing.ts";
import { notPlainPasses, notReads, passingGuide, requireProfile, runExample } from "./profile.ts";

// Run after 'dcn-verify lab up --profile osp17 --edges 1' (scripts/test.sh does it after the e2e project).
describe("profile osp17: Red Hat OpenStack 17.1 DCN, examples/osp17-dcn.yaml as shipped", () => {
  test("the lab is TripleO DCN's shape: client.openstack only, no glance-direct, Ceph behind sudo cephadm", async () => {
    const { state, sites } = requireProfile("osp17");
    expect(sites).toEqual(["central", "dcn0"]);
    const ssh = state.sshd!;
    expect(ssh.user).toBe("tripleo-admin");
    const as = (cmd: string) =>
      execa(
        "ssh",
        [
          "-i",
          ssh.identityFile,
          "-p",
          String(ssh.port),
          "-o",
          `UserKnownHostsFile=${ssh.knownHostsFile}`,
          "-o",
          "BatchMode=yes",
          `${ssh.user}@${ssh.host}`,
          cmd,
        ],
        { reject: false },
      );
    // sudo allows cephadm only, and the shell's /etc/ceph holds one cluster's ceph.conf and ceph.keyring.
    expect((await as("sudo -n rbd --cluster central ls images")).exitCode).not.toBe(0);
    const view = await as(`sudo -n cephadm shell --fsid ${state.ceph.dcn0!.fsid} -- ls /etc/ceph`);
    expect(view.stdout.trim().split(/\s+/).sort(), view.stderr).toEqual(["ceph.conf", "ceph.keyring"]);
    const fsid = await as(`sudo -n cephadm shell --fsid ${state.ceph.dcn0!.fsid} -- ceph fsid`);
    expect(fsid.stdout.trim(), fsid.stderr).toBe(state.ceph.dcn0!.fsid);
    const named = await as(`sudo -n cephadm shell --fsid ${state.ceph.dcn0!.fsid} -- rbd --cluster dcn0 ls images`);
    expect(named.exitCode, "--cluster dcn0 inside a cephadm shell has no dcn0.conf to read").not.toBe(0);
  });

  test("the guide's commands as written: discover, doctor, a read-only run and the standard tier, every Ceph command read-only through cephadm shell", async () => {
    const before = cephadmCommands().length;
    const { readOnly, standard } = await passingGuide("osp17");
    expect(notPlainPasses(readOnly)).toEqual([]);
    // What OSP 17.1 does not enable (glance-direct), ms-11 with one edge (nothing left to copy), and the policy checks without a non-admin credential in the
    // example, are not verified, with their reasons; nothing else is.
    expect(notPlainPasses(standard).sort()).toEqual([
      expect.stringMatching(/^central conf-10-glance-metadef-policy: skipped \(no conformance\.nonAdminCloud in the config/),
      expect.stringMatching(/^central conf-9-glance-locations-exposure: skipped \(no conformance\.nonAdminCloud in the config/),
      expect.stringMatching(
        /^central ms-11-copy-all-stores: skipped \(image \S+ is already in every store .*with 1 edge\(s\) there is nothing/,
      ),
      expect.stringMatching(/^central ms-7-glance-direct-stores: skipped \(Glance does not enable glance-direct/),
    ]);
    expect(standard.summary.overlay).toMatch(/overlay\.yaml$/);
    expect(testOf(standard, "dcn0", "conf-4-ceph-caps").status).toBe("passed");
    expect(testOf(standard, "central", "conf-7-glance-import-methods").status).toBe("passed");
    expect(testOf(standard, "central", "conf-14-cinder-backup").status).toBe("passed");
    const sent = cephadmCommands().slice(before);
    expect(sent.length).toBeGreaterThan(10);
    expect(notReads(sent.map((c) => c.command))).toEqual([]);
    expect(new Set(sent.map((c) => c.user))).toEqual(new Set(["tripleo-admin"]));
    expect(sent.every((c) => !c.command.includes("--cluster"))).toBe(true);
  });

  test("fault cephadm-wrong-cluster: dcn0's host holds central's conf under dcn0's fsid, and cephadm's refusal fails the site", async () => {
    const { state } = requireProfile("osp17");
    await withFault("dcn0", "cephadm-wrong-cluster", async () => {
      const run = await runExample("osp17", ["--sites", "dcn0", "--tests", "dcn-5,conf-2"]);
      expect(run.exitCode, run.output).toBe(1);
      expect(run.output).toMatch(/\[dcn0\] .*unreachable/);
      expect(run.output).toContain(`--fsid ${state.ceph.dcn0!.fsid}`);
      expect(run.output).toContain("fsid does not match ceph.conf");
    });
  });

  test("fault openstack-caps-no-volumes: conf-4 fails at dcn0 naming client.openstack and the volumes pool", async () => {
    await withFault("dcn0", "openstack-caps-no-volumes", async () => {
      const run = await runExample("osp17", ["--sites", "dcn0", "--tests", "conf-4"]);
      expect(run.exitCode, run.output).toBe(1);
      const t = testOf(run, "dcn0", "conf-4-ceph-caps");
      expect(t.status).toBe("failed");
      expect(t.failure).toMatch(/client\.openstack/);
      expect(t.failure).toMatch(/volumes/);
    });
  });
});
