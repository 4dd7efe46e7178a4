import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { openClients } from "../../helpers/clients/index.ts";
import { loadConfig } from "../../helpers/config/load.ts";
import { ResourceJournal } from "../../helpers/harness/resources.ts";
import { formatSweepLeftover, sweep } from "../../helpers/ops/pipeline/sweep.ts";
import { mutate } from "../../lab/mutate.ts";
import { type HarnessRun, labConfigWith, labFault, labHeal, runHarness, SHORT_TIMEOUTS, testOf, withFault } from "./testing.ts";

// Short waits: a broken lab should fail fast, and the message must name the site and the cause.
const config = () => labConfigWith({ timeouts: { ...SHORT_TIMEOUTS, copyImage: 40, volumeAvailable: 30 } });

/** A run's leftovers, swept after the lab is healed (an OSD that was down can hold deletions up). */
async function sweepAfterHeal(run: HarnessRun, cfgPath: string): Promise<string[]> {
  const cfg = await loadConfig(cfgPath);
  const left = await sweep(await openClients(cfg), cfg, new ResourceJournal(join(run.runDir, "resources.jsonl")));
  return left.map(formatSweepLeftover);
}

/**
 * Applies a fault when the run's progress shows a line matching the trigger, and heals it as soon as
 * a step fails (one matching failed; so the run's own cleanup meets a healthy lab) or, at the latest, when done()
 * is called.
 */
function faultWhen(trigger: RegExp, site: string, kind: string, failed: RegExp = /^\[\w+\] ✘ /) {
  let fired: Promise<void> | undefined;
  let healed: Promise<void> | undefined;
  const heal = () =>
    (healed ??= (async () => {
      await fired;
      await labHeal(site);
    })());
  return {
    onLine: (line: string) => {
      if (!fired && trigger.test(line)) {
        const f = labFault(site, kind);
        f.catch(() => undefined);
        fired = f;
      } else if (fired && failed.test(line)) heal().catch(() => undefined);
    },
    done: async () => {
      await heal();
      return Boolean(fired);
    },
  };
}

describe("dcn-verify run on a lab broken on purpose", () => {
  test("an edge store missing from Glance fails step 1 at central and step 3 at that edge; an edge OSD stopped before the copy fails step 3 there with what it waited for", async () => {
    // Two edges, one fault each, in one run: dcn1 has no store in Glance, dcn0's cluster has its OSD stopped.
    const cfg = config();
    const run = await withFault("dcn1", "store-missing", () =>
      withFault("dcn0", "osd-down", () => runHarness(["--config", cfg, "--tests", "dcn-1,dcn-2,dcn-4"])),
    );
    const left = await sweepAfterHeal(run, cfg);
    expect(run.exitCode).not.toBe(0);
    const stores = testOf(run, "central", "dcn-1-stores");
    expect(stores.status).toBe("failed");
    expect(stores.failure).toMatch(/\[central\] Glance has no store dcn1 \(site dcn1\)/);
    expect(testOf(run, "central", "dcn-2-raw-import").status).toBe("passed");
    const missing = testOf(run, "dcn1", "dcn-3-copy-to-edge");
    expect(missing.status).toBe("failed");
    expect(missing.failure).toMatch(/^\[dcn1\] copy-image .* to dcn1: .*409/);
    expect(testOf(run, "dcn1", "dcn-4-boot-from-volume").status).toBe("skipped");
    const copy = testOf(run, "dcn0", "dcn-3-copy-to-edge");
    expect(copy.status).toBe("failed");
    // NOTE: the lab's Ceph clients time out OSD ops after 20 s, so Glance records the failed store
    // (os_glance_failed_import) and the waiter stops early; without that timeout it waits until its own.
    expect(copy.failure).toMatch(
      /^\[dcn0\] wait until no store is left importing and dcn0 hold the image: image \S+: .*(os_glance_failed_import lists \[dcn0\]|gave up waiting for stores \[dcn0\])/s,
    );
    expect(left).toEqual([]);
  });

  test("Glance hiding image locations fails step 2's and step 3's location checks, and step 5 finds a full copy", async () => {
    const run = await withFault("central", "no-locations", () =>
      runHarness(["--config", config(), "--sites", "dcn0", "--tests", "dcn-2,dcn-5"]),
    );
    expect(run.exitCode).not.toBe(0);
    const importing = testOf(run, "central", "dcn-2-raw-import");
    expect(importing.status).toBe("failed");
    expect(importing.failure).toMatch(/\[central\] image .* shows no locations/);
    expect(testOf(run, "dcn0", "dcn-3-copy-to-edge").failure).toMatch(/\[dcn0\] image .* shows no locations: Glance does not expose them/);
    expect(testOf(run, "dcn0", "dcn-4-boot-from-volume").status).toBe("passed");
    const parent = testOf(run, "dcn0", "dcn-5-rbd-parent");
    expect(parent.status).toBe("failed");
    expect(parent.failure).toMatch(
      /\[dcn0\] volume-\S+ on dcn0 has no parent: Cinder made a full copy of the image instead of a copy-on-write clone of images\/\S+@snap/,
    );
    expect(run.summary.sites.flatMap((s) => s.errors)).toEqual([]);
  });

  test("a compute host down before the boot fails step 4 at dcn0; one that dies after the boot leaves dcn1's server stuck in step 6", async () => {
    // Two edges, one compute fault each, in one run. The stop (or the start after it) never completes: a short wait is enough to see it.
    const cfg = labConfigWith({ timeouts: { ...SHORT_TIMEOUTS, copyImage: 40, volumeAvailable: 30, serverStopped: 10, serverActive: 40 } });
    const f = faultWhen(/^\[dcn1\] ▶ run rbd -p volumes ls -l/, "dcn1", "compute-down", /^\[dcn1\] ✘ /);
    const run = await withFault("dcn0", "compute-down", () =>
      runHarness(["--config", cfg, "--sites", "dcn0,dcn1", "--tests", "dcn-5,dcn-6"], { onLine: f.onLine }),
    );
    expect(await f.done()).toBe(true);
    const left = await sweepAfterHeal(run, cfg);
    expect(run.exitCode).not.toBe(0);
    const boot = testOf(run, "dcn0", "dcn-4-boot-from-volume");
    expect(boot.status).toBe("failed");
    expect(boot.failure).toMatch(/^\[dcn0\] wait until the server is ACTIVE: .*server \S+.*ERROR/s);
    expect(boot.failure).toMatch(/No valid host/i);
    // The volume was made before the boot failed: its clone is still checked.
    expect(testOf(run, "dcn0", "dcn-5-rbd-parent").status).toBe("passed");
    expect(testOf(run, "dcn0", "dcn-6-cinder-snapshot").status).toBe("skipped");
    expect(testOf(run, "dcn1", "dcn-5-rbd-parent").status).toBe("passed");
    const snap = testOf(run, "dcn1", "dcn-6-cinder-snapshot");
    expect(snap.status).toBe("failed");
    // NOTE: a stop already on its way may still be served while nova-compute shuts down; then the start is what hangs.
    expect(snap.failure).toMatch(
      /^\[dcn1\] wait until the server is (SHUTOFF|ACTIVE): server \S+: timed out after \d+\.\ds .*waiting for status (SHUTOFF|ACTIVE).*last state: status=/s,
    );
    expect(left).toEqual([]);
  });

  test("a byte of dcn0's root volume inverted before step 6 fails step 6b, naming the snapshot and its hash", async () => {
    const cfg = config();
    const clients = await openClients(await loadConfig(cfg));
    let inverted: Promise<number> | undefined;
    let snapshotAt: number | undefined;
    /** As soon as the run's root volume is available, a byte of it inverted behind Cinder's back. */
    const invert = async (name: string): Promise<number> => {
      for (const until = Date.now() + 60000; Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
        const vol = (await clients.volume.listVolumes({ name })).find((v) => v.status === "available" || v.status === "in-use");
        if (vol) {
          await mutate("dcn0", "write-byte", `volumes/volume-${vol.id}`, 4096);
          return Date.now();
        }
      }
      throw new Error(`volume ${name} was not available within 60 s`);
    };
    const run = await runHarness(["--config", cfg, "--sites", "dcn0", "--tests", "dcn-6b-snapshot-data"], {
      onLine: (line) => {
        const prefix = /^\[dcn0\] ▶ create image (dcnv-\S+)-image /.exec(line)?.[1];
        if (prefix && !inverted) (inverted = invert(`${prefix}-volume`)).catch(() => undefined);
        if (/^\[dcn0\] ▶ snapshot the root volume/.test(line)) snapshotAt ??= Date.now();
      },
    });
    // NOTE: the run goes on while the byte is written: the server's stop and start (disruptive tier) leave it seconds.
    expect(await inverted!, "the byte was inverted before step 6's snapshot").toBeLessThan(snapshotAt!);
    expect(testOf(run, "dcn0", "dcn-6-cinder-snapshot").status).toBe("passed");
    expect(testOf(run, "dcn0", "dcn-6b-snapshot-data").failure).toMatch(
      /^\[dcn0\] the root volume's snapshot volumes\/volume-\S+@snapshot-\S+ on dcn0: its first \d+ bytes hash to [0-9a-f]{128}, but the bytes the harness wrote hash to [0-9a-f]{128}/,
    );
    expect(run.summary.sites.flatMap((s) => s.errors)).toEqual([]);
  });

  test("central's OSD stopped while the edge's data is copied back fails step 7, naming the store", async () => {
    const cfg = config();
    const f = faultWhen(/^\[dcn0\] ▶ copy-image [0-9a-f-]{36} to central/, "central", "osd-down");
    const run = await runHarness(["--config", cfg, "--sites", "dcn0", "--tests", "dcn-7"], { onLine: f.onLine });
    expect(await f.done()).toBe(true);
    const left = await sweepAfterHeal(run, cfg);
    expect(testOf(run, "dcn0", "dcn-6-cinder-snapshot").status).toBe("passed");
    const back = testOf(run, "dcn0", "dcn-7-back-to-central");
    expect(back.status).toBe("failed");
    expect(back.failure).toMatch(
      /^\[dcn0\] (wait until no store is left importing and central hold the image|the central location|the first \d+ bytes of images).*central/s,
    );
    expect(left).toEqual([]);
  });
});
