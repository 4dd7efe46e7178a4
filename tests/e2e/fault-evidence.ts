import { join } from "node:path";
import { expect } from "vitest";
import { paths } from "../../lab/state.ts";
import { stock } from "./clients.ts";

/**
 * What a lab fault looks like through the stock clients (openstack, glance, ceph, rbd), independently
 * of dcn-verify: withFault checks it the moment it applies the fault, so every test that breaks the
 * lab also shows the break is real.
 */
export const STOCK_EVIDENCE: Record<string, (site: string) => Promise<void>> = {
  "store-missing": async (site) => {
    const r = await stock("glance", ["stores-info"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).not.toContain(`"id": "${site}"`);
  },
  "no-locations": async () => {
    const img = await stock("openstack", [
      ...["image", "create", "--disk-format", "raw", "--container-format", "bare", "--file", "/dev/null"],
      ...["dcnv-labtest-locations", "-f", "value", "-c", "id"],
    ]);
    expect(img.exitCode, img.stderr).toBe(0);
    const id = img.stdout.trim();
    try {
      const show = await stock("openstack", ["image", "show", id, "-f", "json"]);
      expect(show.exitCode, show.stderr).toBe(0);
      expect(show.stdout).not.toContain("rbd://");
    } finally {
      await stock("openstack", ["image", "delete", id]);
    }
  },
  "volume-down": async (site) => {
    const r = await stock("openstack", ["volume", "service", "list", "-f", "value", "-c", "Host", "-c", "State"]);
    expect(r.stdout).toContain(`cinder@${site} down`);
  },
  "compute-down": async (site) => {
    const r = await stock("openstack", [
      ...["compute", "service", "list", "--service", "nova-compute"],
      ...["-f", "value", "-c", "Host", "-c", "State"],
    ]);
    expect(r.stdout).toContain(`compute-${site} down`);
  },
  "az-mismatch": async (site) => {
    const r = await stock("openstack", ["aggregate", "show", site, "-f", "json"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).hosts).not.toContain(`compute-${site}`);
  },
  "store-write-denied": async (site) => {
    const r = await stock("ceph", ["--cluster", site, "auth", "get", "client.glance", "--format", "json"]);
    expect(JSON.parse(r.stdout)[0].caps.osd).toBe("profile rbd-read-only pool=images");
  },
  "no-conversion": async () => {
    const r = await stock("grep", ["-A1", "^\\[image_import_opts\\]", join(paths().etc, "glance-api.conf")]);
    expect(r.stdout).toContain("image_import_plugins = []");
  },
  "osd-down": async (site) => {
    const r = await stock("ceph", ["--cluster", site, "osd", "dump", "--format", "json"]);
    expect(JSON.parse(r.stdout).osds[0].up).toBe(0);
  },
};
