import { describe, expect, test } from "vitest";
import { junitXml } from "./junit.ts";
import type { RunSummary } from "./model.ts";

const summary: RunSummary = {
  runId: "20261123t230000-abcd",
  startedAt: "2026-11-23T23:00:00Z",
  finishedAt: "2026-11-23T23:01:00Z",
  interrupted: false,
  sites: [
    {
      site: "dcn0",
      status: "failed",
      errors: [],
      counts: { passed: 1, failed: 1, warnings: 1, notVerified: 2 },
      tests: [
        {
          id: "dcn-4-boot-from-volume",
          title: "4. boots",
          status: "passed",
          durationMs: 1500,
          warnings: ["a <warning> & more"],
          notVerified: ["that the server's host is in the AZ: needs admin"],
        },
        {
          id: "dcn-5-rbd-parent",
          title: "5. clone",
          status: "failed",
          durationMs: 10,
          failureKind: "product",
          failure: "[dcn0] not a clone",
        },
        {
          id: "dcn-6-cinder-snapshot",
          title: "6. snap",
          status: "skipped",
          durationMs: 0,
          notVerified: ["tier standard is above read-only"],
        },
      ],
    },
  ],
};

describe("JUnit from the summary", () => {
  test("carries failures with their category, what was not verified and the warnings, escaped", () => {
    const xml = junitXml(summary);
    expect(xml).toContain('<testsuite name="dcn0" tests="3" failures="1" errors="0" skipped="1"');
    expect(xml).toContain('<property name="warnings" value="1"/><property name="not-verified" value="2"/>');
    expect(xml).toContain('<property name="warning" value="a &lt;warning&gt; &amp; more"/>');
    expect(xml).toContain(`<property name="not-verified" value="that the server's host is in the AZ: needs admin"/>`);
    expect(xml).toContain('<failure type="product" message="[dcn0] not a clone">');
    expect(xml).toContain('<skipped message="not verified: tier standard is above read-only"/>');
  });
});
