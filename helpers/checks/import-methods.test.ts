import { describe, expect, test } from "vitest";
import { configSchema } from "../config/schema.ts";
import { validConfig } from "../config/testing.ts";
import type { RunInfo } from "../harness/model.ts";
import { importMethodsUsed, methodsDisabled } from "./imports.ts";

const config = configSchema.parse(validConfig());
const run = (o: Partial<RunInfo>) =>
  importMethodsUsed({
    config,
    sites: ["central", "dcn0", "dcn1"],
    suites: ["procedure", "multistore", "rules", "conformance"],
    tier: "standard",
    ...o,
  });

describe("the import methods a run's tests use (conf-7) and a test whose method Glance does not enable", () => {
  test("the multi-store tests use web-download (ms-1 to ms-6) and glance-direct (ms-7); the procedure only uploads and copies", () => {
    expect(Object.fromEntries(run({}))).toEqual({
      "web-download": [
        "ms-1-web-download-stores",
        "ms-2-web-download-all-stores",
        "ms-3-web-download-one-store",
        "ms-4-web-download-default-store",
        "ms-5-allow-failure",
        "ms-6-qcow2-conversion",
      ],
      "glance-direct": ["ms-7-glance-direct-stores"],
    });
    expect(run({ suites: ["procedure", "rules", "conformance"] }).size).toBe(0);
    expect(run({ tests: ["ms-7-glance-direct-stores"] })).toEqual(new Map([["glance-direct", ["ms-7-glance-direct-stores"]]]));
    // A read-only run imports nothing; multistore runs at central, so a run of the edges only asks for none.
    expect(run({ tier: "read-only" }).size).toBe(0);
    expect(run({ sites: ["dcn0"] }).size).toBe(0);
  });

  test("a method Glance does not enable is the test's reason to end not verified, naming what Glance enables", () => {
    expect(methodsDisabled(["glance-direct", "web-download", "copy-image"], ["glance-direct"])).toBeUndefined();
    expect(methodsDisabled(["web-download", "copy-image"], ["glance-direct"], "osp17")).toBe(
      "Glance does not enable glance-direct (enabled_import_methods: web-download, copy-image; OSP 17.1 DCN ships web-download and copy-image only)",
    );
    expect(methodsDisabled([], ["web-download"], "kolla")).toBe("Glance does not enable web-download (enabled_import_methods: none)");
    expect(methodsDisabled(["copy-image"], [])).toBeUndefined();
  });
});
