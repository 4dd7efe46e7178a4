import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type ImagePod, imagePod, POD_UID } from "./image.ts";

// The image as a pod runs it (tests/e2e/image.ts). Its full run, `dcn-verify run --sites dcn0`, is in concurrent.lab,
// beside a canary plant.
let pod: ImagePod;

beforeAll(async () => {
  pod = await imagePod("container-test");
}, 900_000);

afterAll(async () => {
  await pod?.stop();
});

describe("the container image", () => {
  test("its root is read-only, the UID has no passwd entry of its own, and the image holds qemu-img and ssh", async () => {
    const r = await pod.run(
      [
        "-c",
        'id -u; id -g; getent passwd "$(id -u)" || echo "no passwd entry"; touch /opt/dcn-verify/x 2>&1 || true; qemu-img --version | head -1; ls /usr/bin/ssh',
      ],
      { entrypoint: ["/bin/sh"] },
    );
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout).toContain(`${POD_UID}\n0\nno passwd entry`);
    expect(r.stdout).toMatch(/Read-only file system/);
    expect(r.stdout).toMatch(/qemu-img version \d/);
    expect(r.stdout).toContain("/usr/bin/ssh");
    // Without the entry point's nss_wrapper, ssh refuses such a UID: what the entry point is for.
    const bare = await pod.run(["-c", "ssh -V 2>&1 || true"], { entrypoint: ["/bin/sh"] });
    expect(bare.stdout).toMatch(new RegExp(`No user exists for uid ${POD_UID}`));
  });

  test("doctor through the entry point: the clouds at test-operator's paths, each site's Ceph over the image's ssh", async () => {
    const before = pod.sshd.connections();
    const r = await pod.run(["doctor", "--sites", "dcn0"]);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/credentials/);
    expect(pod.sshd.connections() - before).toBeGreaterThanOrEqual(2);
  });

  test("a missing config is a clear error before any cloud call, and the exit code is the CLI's", async () => {
    const r = await pod.run(["run", "--sites", "dcn0"], { mounts: false });
    expect(r.exitCode).toBe(2);
    expect(r.all).toMatch(/no configuration: pass a path, set DCN_VERIFY_CONFIG/);
  });
});
