import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type Clients, openClients } from "../../helpers/clients/index.ts";
import { waitForImageStatus } from "../../helpers/clients/waiters.ts";
import { loadConfig } from "../../helpers/config/load.ts";
import type { Config } from "../../helpers/config/schema.ts";
import { timing } from "../../helpers/config/timing.ts";
import { isApiError } from "../../helpers/core/http.ts";
import { resourceName } from "../../helpers/harness/naming.ts";
import { readManifest } from "../../helpers/harness/canary.ts";
import { paths } from "../../lab/state.ts";
import { imagePod, POD_UID } from "./image.ts";
import { cli, type HarnessRun, runHarness, stock, testOf, withFault } from "./testing.ts";

// Runs started side by side on one cloud, as CI and an operator do, with a canary set planted beside them: none judges
// what another made, and each still judges the operator's.
const dir = mkdtempSync(join(tmpdir(), "dcnv-concurrent-"));
const manifestPath = join(dir, "canaries.json");
let cfg: Config;
let c: Clients;
let setId: string | undefined;
/** The images this file makes by hand: deleted at the end, whatever happens. */
const images: string[] = [];

const later = <T>(ms: number, f: () => Promise<T>) => new Promise<T>((ok, ko) => setTimeout(() => f().then(ok, ko), ms));
const reports = (name: string) => join(dir, name);

async function edgeOnlyImage(name: string): Promise<string> {
  const img = await c.image.createImage({ name, disk_format: "raw", container_format: "bare", visibility: "private" });
  images.push(img.id);
  await c.image.uploadImageData(img.id, Buffer.alloc(1 << 20, 9), { store: "dcn0" });
  await waitForImageStatus(c.image, img.id, "active", timing(cfg.timeouts, "imageActive"));
  return img.id;
}

beforeAll(async () => {
  cfg = await loadConfig(paths().config);
  c = await openClients(cfg);
}, 60000);

afterAll(async () => {
  for (const id of images) await c.image.deleteImage(id).catch((e) => (isApiError(e, 404) ? undefined : Promise.reject(e)));
  if (setId || existsSync(manifestPath)) {
    const r = await cli(["canary", "remove", ...(existsSync(manifestPath) ? ["--manifest", manifestPath] : ["--set", setId!])]);
    expect(r.exitCode, r.all).toBe(0);
  }
}, 300000);

describe("runs and a canary plant at once", () => {
  test("the container image's `run --sites dcn0` as a pod runs it and a canary plant at dcn0, started side by side, are both green", async () => {
    // NOTE: the image's run is the whole run (every suite, tier standard, HTML reports), as UID 12345 with group 0 and a
    // read-only root (tests/e2e/image.ts), at central and dcn0, where it meets the canaries. Two runs from the checkout
    // at once are the next test's.
    const pod = await imagePod("concurrent-test");
    try {
      const before = pod.sshd.connections();
      const [inImage, plant] = await Promise.all([
        pod.run(["run", "--sites", "dcn0"]),
        later(5000, () =>
          cli(["canary", "plant", "--manifest", manifestPath, "--sites", "dcn0", "--reports", reports("plant"), "--no-html"]),
        ),
      ]);
      setId = existsSync(manifestPath) ? readManifest(manifestPath).setId : undefined;
      expect(plant.exitCode, plant.all).toBe(0);
      expect(inImage.exitCode, inImage.all).toBe(0);
      const image = pod.lastRun();
      expect(image.summary.sites.map((s) => s.site)).toEqual(["central", "dcn0"]);
      expect(image.summary.sites.map((s) => [s.status, s.counts?.failed, s.counts?.notVerified])).toEqual([
        ["passed", 0, 0],
        ["passed", 0, 0],
      ]);
      // The image's Ceph checks went through its ssh client, as a UID with no passwd entry but nss_wrapper's; what it
      // wrote is that UID's, in the reports volume; its reports are whole.
      expect(pod.sshd.connections() - before).toBeGreaterThanOrEqual(2);
      const runDir = join(pod.reports, image.runId);
      expect(statSync(join(runDir, "summary.json")).uid).toBe(POD_UID);
      expect(existsSync(join(runDir, "dcn0", "report", "index.html"))).toBe(true);
      expect(readFileSync(join(runDir, "junit.xml"), "utf8")).toContain('testsuite name="dcn0"');
    } finally {
      await pod.stop();
    }
  });

  test("an operator's image in dcn0's store only fails rule-2 in two runs at once; dcn-verify's are left out as information", async () => {
    expect(setId, "the canary set of the first test").toBeDefined();
    const operators = await edgeOnlyImage(`operator-edge-only-${Date.now()}`);
    // Another run's step-7 image between Cinder's upload and its copy to central: in the edge store only, its harness
    // name its one mark (Cinder's upload carries no dcn-verify property until the run adds it).
    const otherRun = "20261201t000000-c0de";
    const others = await edgeOnlyImage(resourceName(cfg.naming.prefix, otherRun, "dcn0", "volume-upload"));
    // An operator's image deactivated: not judged, and said so.
    const deactivated = await edgeOnlyImage(`operator-deactivated-${Date.now()}`);
    const off = await stock("openstack", ["image", "set", "--deactivate", deactivated]);
    expect(off.exitCode, off.stderr).toBe(0);
    const canaryImage = readManifest(manifestPath).sites[0]!.canaries.find((x) => x.kind === "image")!.id;
    const args = ["--suites", "rules", "--sites", "dcn0", "--tier", "standard"];
    const runs: HarnessRun[] = await Promise.all([
      runHarness(args, { reports: reports("rules-1") }),
      runHarness(args, { reports: reports("rules-2") }),
    ]);
    for (const run of runs) {
      expect(run.exitCode, run.output).toBe(1);
      const rule2 = testOf(run, "dcn0", "rule-2-edge-images-in-central");
      expect(rule2.status, run.output).toBe("failed");
      expect(rule2.failure).toMatch(/image\(s\) in store dcn0 \(site dcn0\) have no copy in central: /);
      expect(rule2.failure).toContain(`${operators} (operator-edge-only-`);
      expect(rule2.failure).not.toContain(others);
      expect(rule2.failure).not.toContain(canaryImage);
      expect(rule2.failure).not.toContain(deactivated);
      expect(rule2.notVerified ?? []).toEqual([
        expect.stringMatching(
          new RegExp(
            `^1 image\\(s\\) in store dcn0 \\(site dcn0\\) that are not active: ${deactivated} \\(operator-deactivated-\\d+\\) status deactivated: `,
          ),
        ),
      ]);
      expect(run.output).toContain(`ℹ left out: made by dcn-verify run ${otherRun}: 1 image(s) in store dcn0 (site dcn0)`);
      expect(run.output).toContain(`ℹ left out: made by dcn-verify canary set ${setId}: 1 image(s) in store dcn0 (site dcn0)`);
      // A volume pulled whole from central is what every cloud does: information, never a warning.
      const rule5 = testOf(run, "dcn0", "rule-5-image-local-before-use");
      expect(rule5.status, run.output).toBe("passed");
      expect(rule5.warnings ?? []).toEqual([]);
      expect(run.output).toMatch(/\[dcn0\] ℹ Cinder pulled image \S+ whole from central to build a volume at dcn0/);
      for (const id of ["rule-1-same-names", "rule-3-edge-images-raw", "rule-4-edge-upload-to-central-first"])
        expect(testOf(run, "dcn0", id).status, `${id}\n${run.output}`).toBe("passed");
    }
    expect((await c.image.showImage(operators)).stores).toEqual(["dcn0"]);
  });

  test("--strict at central: the stock lab's Glance shows locations to a non-admin (exit 1); hardened (glance-hardened), exit 0 and Cinder still clones", async () => {
    const args = ["--strict", "--suites", "conformance", "--sites", "central", "--tier", "standard"];
    const stock = await runHarness(args, { reports: reports("strict-stock") });
    expect(stock.exitCode, stock.output).toBe(1);
    expect(testOf(stock, "central", "conf-9-glance-locations-exposure").warnings, stock.output).toEqual([
      "security: a non-admin user sees the image's backend location",
    ]);
    // Hardened, Cinder still clones at the edge through the services' Glance: steps 3 to 5 at dcn0.
    const [hardened, clone] = await withFault("central", "glance-hardened", async () => [
      await runHarness(args, { reports: reports("strict-hardened") }),
      await runHarness(["--tests", "dcn-5", "--sites", "dcn0", "--tier", "standard"], { reports: reports("clone-hardened") }),
    ]);
    expect(clone.exitCode, clone.output).toBe(0);
    expect(testOf(clone, "dcn0", "dcn-5-rbd-parent").status, clone.output).toBe("passed");
    expect(hardened.exitCode, hardened.output).toBe(0);
    for (const id of ["conf-9-glance-locations-exposure", "conf-10-glance-metadef-policy"]) {
      const t = testOf(hardened, "central", id);
      expect(t.status, `${id}\n${hardened.output}`).toBe("passed");
      expect(t.warnings ?? []).toEqual([]);
    }
  });
});
