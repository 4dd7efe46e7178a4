import { readFileSync } from "node:fs";
import { execa } from "execa";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { openClients } from "../../helpers/clients/index.ts";
import { waitForImageStatus } from "../../helpers/clients/waiters.ts";
import { loadConfig } from "../../helpers/config/load.ts";
import { timing } from "../../helpers/config/timing.ts";
import { isApiError } from "../../helpers/core/http.ts";
import { paths } from "../../lab/state.ts";
import { labConfigWith, runHarness, SHORT_TIMEOUTS, testOf, typedRun, withFault } from "./testing.ts";

/** Conformance checks at dcn0 only (and central's, for those that run there), with short waits and the config's fields replaced as asked. */
const atDcn0 = (tests: string, tier: string, overrides: Record<string, unknown> = {}) =>
  runHarness(["--config", labConfigWith({ timeouts: SHORT_TIMEOUTS, ...overrides }), "--tests", tests, "--tier", tier, "--sites", "dcn0"]);

describe("deployment conformance", () => {
  test("on the healthy lab every check passes or is skipped with its reason", async () => {
    // The conformance checks of `dcn-verify run` as typed (tier standard, every suite), shared with run.lab.
    const run = await typedRun();
    expect(run.exitCode, run.output).toBe(0);
    const tests = run.summary.sites.flatMap((s) => s.tests.filter((t) => t.id.startsWith("conf-")).map((t) => ({ site: s.site, ...t })));
    expect(tests.filter((t) => t.status === "failed")).toEqual([]);
    expect(tests.filter((t) => t.status === "skipped").map((t) => `${t.site}:${t.id}: ${t.failure}`)).toEqual([]);
    expect(run.summary.sites.map((s) => [s.site, tests.filter((t) => t.site === s.site).length])).toEqual([
      ["central", 13],
      ["dcn0", 8],
      ["dcn1", 8],
    ]);
  });

  test("each check fails on the lab broken its way, naming the site, what it expected, what it found and the fix; with cinder-volume down, rule-5 fails on the volume in error, taking no failure for a refusal", async () => {
    const cfg = await loadConfig(paths().config);
    const c = await openClients(cfg);
    let backupCaps: Record<string, string> | undefined;
    const setCaps = (caps: Record<string, string>) =>
      execa("ceph", ["--cluster", "dcn0", "auth", "caps", "client.cinder-backup", ...Object.entries(caps).flat()]);
    const img = await c.image.createImage({
      name: "foreign-unprotected",
      disk_format: "raw",
      container_format: "bare",
      visibility: "private",
    });
    try {
      await c.image.uploadImageData(img.id, Buffer.alloc(1024 * 1024, 9), { store: "dcn0" });
      await waitForImageStatus(c.image, img.id, "active", timing(cfg.timeouts, "imageActive"));
      await execa("rbd", ["--cluster", "dcn0", "snap", "unprotect", `images/${img.id}@snap`]);
      // Beyond the lab's fault: cinder-backup's mon cap widened to 'allow rw' (the guide gives 'profile rbd').
      backupCaps = JSON.parse(
        (await execa("ceph", ["--cluster", "dcn0", "auth", "get", "client.cinder-backup", "--format", "json"])).stdout,
      )[0].caps as Record<string, string>;
      await setCaps({ ...backupCaps, mon: "allow rw" });
      // NOTE: rule-5 rides on the same run: its volume meets the stopped cinder-volume, and nothing else here touches it.
      const readOnly = ["conf-1", "conf-2", "conf-3", "conf-4", "conf-5", "conf-6", "conf-7", "conf-8"];
      const broken = () =>
        runHarness([
          "--suites",
          "conformance,rules",
          "--tests",
          [...readOnly, "rule-5"].join(","),
          "--tier",
          "standard",
          "--sites",
          "dcn0",
        ]);
      const run = await withFault("dcn0", "ceph-caps-broad", () =>
        withFault("dcn0", "pool-missing", () => withFault("dcn0", "volume-down", () => withFault("dcn0", "az-mismatch", broken))),
      );
      expect(run.exitCode).toBe(1);
      const failure = (id: string) => {
        const t = testOf(run, "dcn0", id);
        expect(t.status, id).toBe("failed");
        return t.failure ?? "";
      };
      expect(failure("conf-2-ceph-pools")).toMatch(
        /^\[dcn0\] .*expected pools images, volumes, vms, backups; found no pool backups .*; fix: create them/s,
      );
      expect(failure("conf-3-ceph-image-snapshots")).toMatch(
        new RegExp(`^\\[dcn0\\] .*found unprotected images/${img.id}@snap; fix: 'rbd snap protect`, "s"),
      );
      expect(failure("conf-4-ceph-caps")).toMatch(
        /^\[dcn0\] expected the caps conformance\.cephUsers gives .*; found client\.glance may write every pool \(osd 'allow \*'\); client\.glance has mon 'allow \*', broader than the guide's 'profile rbd'; client\.cinder-backup has mon 'allow rw', broader than the guide's 'profile rbd'; fix: 'ceph auth caps/s,
      );
      expect(failure("conf-5-cinder-backend")).toMatch(
        /^\[dcn0\] expected an enabled, up cinder-volume in AZ dcn0; found cinder@dcn0 enabled\/down; fix: start cinder-volume/,
      );
      expect(failure("conf-6-nova-az")).toMatch(
        /^\[dcn0\] expected Nova AZ dcn0 with an enabled, up compute host; found no Nova AZ dcn0 .*; fix: add the site's compute hosts/,
      );
      const local = testOf(run, "dcn0", "rule-5-image-local-before-use");
      expect(local.status, run.output).toBe("failed");
      expect(local.failure).toMatch(
        /^\[dcn0\] volume \S+ from image \S+ \(only in central\) went to error in AZ dcn0: .+; Cinder documents no such refusal/,
      );
      expect(local.failureKind).toBe("product");
      expect(testOf(run, "dcn0", "conf-1-ceph-health").status).toBe("passed");
      expect(testOf(run, "central", "conf-4-ceph-caps").status).toBe("passed");
    } finally {
      if (backupCaps) await setCaps(backupCaps);
      await execa("rbd", ["--cluster", "dcn0", "snap", "protect", `images/${img.id}@snap`], { reject: false });
      await c.image.deleteImage(img.id).catch((e) => (isApiError(e, 404) ? undefined : Promise.reject(e)));
    }
  });

  test("a probe user that may not read caps leaves conf-4 not verified; an edge without backups passes conf-2 and has no conf-14", async () => {
    const lab = parse(readFileSync(paths().config, "utf8")) as {
      edges: { name: string; ceph: Record<string, unknown> }[];
      conformance: Record<string, unknown>;
    };
    // NOTE: client.glance's mon 'profile rbd' reads the maps but not the mon's auth commands: 'ceph auth get' answers EACCES.
    const edges = lab.edges.map((e) => (e.name === "dcn0" ? { ...e, ceph: { ...e.ceph, user: "glance", pools: { backups: false } } } : e));
    // Backups that land in the site's own pool (no conformance.backupsSite): dcn0 has none.
    const run = await atDcn0("conf-2,conf-4,conf-14", "standard", { edges, conformance: { ...lab.conformance, backupsSite: undefined } });
    const caps = testOf(run, "dcn0", "conf-4-ceph-caps");
    expect(caps.status, run.output).toBe("skipped");
    expect(caps.notVerified).toEqual([
      expect.stringMatching(
        /^the probe's cephx user \(client\.glance\) may not read caps: client\.glance: 'ceph auth get client\.glance' answered Error EACCES/,
      ),
    ]);
    expect(testOf(run, "dcn0", "conf-2-ceph-pools").status).toBe("passed");
    // conf-14 does not apply where the config says there is no backups pool: it is neither run nor counted.
    expect(run.summary.sites.find((s) => s.site === "dcn0")!.tests.map((t) => t.id)).not.toContain("conf-14-cinder-backup");
  });

  // NOTE: before backup-down: a backup service healed a moment ago may not take a backup yet ("Service not found").
  test("conf-14 judges the pool the config says backups land in: without conformance.backupsSite, the edge's own, and the lab's backup is in central's", async () => {
    // NOTE: the lab's cinder-backup writes every site's backups to central's cluster, as TripleO DCN does; its config says so
    // (conformance.backupsSite: central), and the healthy runs pass conf-14 on it.
    const lab = parse(readFileSync(paths().config, "utf8")) as { conformance: Record<string, unknown> };
    const run = await atDcn0("conf-14", "standard", { conformance: { ...lab.conformance, backupsSite: undefined } });
    const own = testOf(run, "dcn0", "conf-14-cinder-backup");
    expect(own.status, run.output).toBe("failed");
    expect(own.failure).toMatch(
      /^\[dcn0\] (.+: )?expected an rbd image for backup (\S+) in dcn0's backups pool backups \(dcn0's own\); found it in central's backups instead; fix: point cinder-backup for dcn0 at its own cluster/,
    );
    expect(own.failureKind).toBe("product");
  });

  test("conf-14 fails when the edge's cinder-backup service is down, naming the host and its state", async () => {
    const run = await withFault("dcn0", "backup-down", () => atDcn0("conf-14", "standard"));
    const t = testOf(run, "dcn0", "conf-14-cinder-backup");
    expect(t.status, run.output).toBe("failed");
    expect(t.failure).toMatch(
      /^\[dcn0\] expected an enabled, up cinder-backup service in AZ dcn0; found cinder-backup in AZ dcn0: backup-dcn0 \(AZ dcn0\) enabled\/down; fix: start/,
    );
    expect(t.failureKind).toBe("product");
  });

  test("conf-3 on an empty images pool is not verified, with its reason, never a pass", async () => {
    // NOTE: the lab's backups all go to central's cluster, so dcn0's backups pool is an empty pool to point conf-3 at.
    const run = await atDcn0("conf-3", "read-only", { rbd: { imagesPool: "backups" } });
    const t = testOf(run, "dcn0", "conf-3-ceph-image-snapshots");
    expect(t.status, run.output).toBe("skipped");
    expect(t.notVerified).toEqual([expect.stringMatching(/^the backups pool on dcn0's cluster holds no rbd image: there are no layering/)]);
    // A run given --tier fails the site on it: the check is within the tier it asked for.
    const gate = run.summary.sites.find((s) => s.site === "dcn0")!.gates!.results.find((r) => r.name === "maxNotVerifiedInTier");
    expect(gate).toEqual({
      name: "maxNotVerifiedInTier",
      ok: false,
      detail: expect.stringMatching(/^1 not verified within tier read-only/),
    });
    expect(run.exitCode).toBe(1);
  });
});
