import { parse, type TestCase, type TestSuite, type TestSuites } from "junit2json";
import { describe, expect, test } from "vitest";
import { junitXml, RUN_SUITE } from "./junit.ts";
import type { RunSummary } from "../../harness/model.ts";
import type { RbdLeftover } from "../../harness/rbd-leftovers.ts";

const WARNING = 'a <warning> & "more" \u0001bell\u0007 ]]> done';
const KNOWN_FAILURE = "[dcn0] the copy is still importing after 600 s";

const rbdLeftover: RbdLeftover = {
  site: "dcn1",
  pool: "volumes",
  image: "volume-1111",
  resource: { kind: "volume", name: "dcnv-x-dcn1-vol", id: "1111" },
  cause: "Cinder deleted the volume and left its rbd image",
} as RbdLeftover;

const summary: RunSummary = {
  runId: "20261123t230000-abcd",
  startedAt: "2026-11-23T23:00:00Z",
  finishedAt: "2026-11-23T23:01:00Z",
  interrupted: false,
  sites: [
    {
      site: "central",
      status: "passed",
      errors: [],
      cleanup: [],
      tests: [{ id: "ms-1-stores", title: "1. stores", status: "passed", durationMs: 200 }],
    },
    {
      site: "dcn0",
      status: "failed",
      errors: [],
      cleanup: ["volume dcnv-x-dcn0-vol (2222) at dcn0: 409 volume is in-use"],
      counts: { passed: 1, failed: 2, warnings: 1, notVerified: 2 },
      verdict: { ok: false, reasons: ["dcn-5-rbd-parent failed"] },
      gates: {
        ok: false,
        results: [{ name: "maxWarnings", ok: false, detail: "1 warning(s) (at most 0)" }],
        known: [
          {
            test: "dcn-7-image-copy",
            reason: "slow copies until the store fix",
            link: "https://bugs.example/1?a=1&b=2",
            expires: "2099-01-01",
            message: KNOWN_FAILURE,
            category: "infrastructure",
          },
        ],
        expired: [],
      } as NonNullable<RunSummary["sites"][number]["gates"]>,
      tests: [
        {
          id: "dcn-4-boot-from-volume",
          title: "4. boots",
          status: "passed",
          durationMs: 1500,
          tier: "standard",
          warnings: [WARNING],
          notVerified: ["that the server's host is in the AZ: needs admin"],
        },
        {
          id: "dcn-5-rbd-parent",
          title: "5. clone",
          status: "failed",
          durationMs: 10,
          failureKind: "product",
          failure: "[dcn0] not a clone\nmore",
        },
        {
          id: "dcn-7-image-copy",
          title: "7. copy",
          status: "failed",
          durationMs: 20,
          failureKind: "infrastructure",
          failure: `${KNOWN_FAILURE}\nstack`,
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
    {
      // Setup failed: no test ran.
      site: "dcn1",
      status: "failed",
      errors: ["setup: the network did not come up: 503 Service Unavailable"],
      cleanup: [],
      tests: [],
    },
  ],
  rbdLeftovers: [rbdLeftover],
  rbdNotChecked: [
    { site: "central", pool: "backups", reason: "timed out after 10 s" },
    { site: "dcn2", reason: "no Ceph access" },
  ],
};

const outcome = (c: TestCase) => (c.failure ? "failure" : c.error ? "error" : c.skipped ? "skipped" : "passed");
const count = (cases: TestCase[], o: string) => cases.filter((c) => outcome(c) === o).length;

async function read(xml: string): Promise<TestSuites> {
  const r = (await parse(xml)) as TestSuites | null | undefined;
  if (!r?.testsuite) throw new Error(`junit2json did not read a <testsuites>: ${xml.slice(0, 200)}`);
  return r;
}

const suite = (r: TestSuites, name: string) => r.testsuite!.find((s) => s.name === name)!;
const testcase = (s: TestSuite, name: string) => s.testcase!.find((c) => c.name === name)!;

describe("JUnit from the summary, as a third-party parser reads it", () => {
  test("counts the failed setup as an error, cleanup and rbd leftovers as failures, and a known failure as skipped", async () => {
    const xml = junitXml(summary);
    const r = await read(xml);
    const all = r.testsuite!.flatMap((s) => s.testcase ?? []);
    // What the parser reports for the run, from the attributes and from the cases themselves.
    const totals = r as TestSuites & { skipped?: number };
    expect({ tests: totals.tests, failures: totals.failures, errors: totals.errors, skipped: totals.skipped }).toEqual({
      tests: 12,
      failures: 4,
      errors: 1,
      skipped: 4,
    });
    expect({ failures: count(all, "failure"), errors: count(all, "error"), skipped: count(all, "skipped") }).toEqual({
      failures: 4,
      errors: 1,
      skipped: 4,
    });
    for (const s of r.testsuite!) {
      const cases = s.testcase ?? [];
      expect({ tests: s.tests, failures: s.failures, errors: s.errors, skipped: s.skipped }, s.name).toEqual({
        tests: cases.length,
        failures: count(cases, "failure"),
        errors: count(cases, "error"),
        skipped: count(cases, "skipped"),
      });
    }
    expect(r.testsuite!.map((s) => [s.name, s.tests, s.failures, s.errors, s.skipped])).toEqual([
      ["central", 3, 0, 0, 1],
      ["dcn0", 6, 3, 0, 2],
      ["dcn1", 2, 1, 1, 0],
      [RUN_SUITE, 1, 0, 0, 1],
    ]);
  });

  test("a site whose setup failed is errored, not all skipped, and its rbd leftover fails its cleanup", async () => {
    const dcn1 = suite(await read(junitXml(summary)), "dcn1");
    expect(testcase(dcn1, "dcn1: setup").error).toEqual([
      { type: "setup", message: summary.sites[2]!.errors[0], inner: summary.sites[2]!.errors[0] },
    ]);
    const cleanup = testcase(dcn1, "dcn1: cleanup").failure![0]!;
    expect(cleanup.type).toBe("cleanup");
    expect(cleanup.inner).toContain("rbd image volumes/volume-1111 is still in dcn1's cluster");
  });

  test("what the cleanup left fails the site's cleanup case; a clean site's passes", async () => {
    const r = await read(junitXml(summary));
    expect(testcase(suite(r, "dcn0"), "dcn0: cleanup").failure![0]!.inner).toBe(summary.sites[1]!.cleanup![0]);
    expect(outcome(testcase(suite(r, "central"), "central: cleanup"))).toBe("passed");
    // A site that failed only its gates (--strict, say) has a failing case a consumer counts.
    expect(testcase(suite(r, "dcn0"), "dcn0: gates").failure![0]!.inner).toBe("gate maxWarnings not met: 1 warning(s) (at most 0)");
  });

  test("the known failure is skipped with the issue and the failure it covers; a plain failure carries its category", async () => {
    const dcn0 = suite(await read(junitXml(summary)), "dcn0");
    const known = testcase(dcn0, "dcn-7-image-copy: 7. copy");
    const message = `known issue https://bugs.example/1?a=1&b=2 until 2099-01-01: slow copies until the store fix: ${KNOWN_FAILURE}`;
    expect(known.skipped).toEqual([{ message, inner: message }]);
    expect(known.failure).toBeUndefined();
    const props = (known as TestCase & { properties?: { name: string; value: string }[] }).properties;
    expect(props).toContainEqual({
      name: "known-issue",
      value: "https://bugs.example/1?a=1&b=2 until 2099-01-01: slow copies until the store fix",
    });
    expect(props).toContainEqual({ name: "known-issue-category", value: "infrastructure" });
    expect(known["system-out"]).toEqual([`${KNOWN_FAILURE}\nstack`]);
    expect(testcase(dcn0, "dcn-5-rbd-parent: 5. clone").failure).toEqual([
      { type: "product", message: "[dcn0] not a clone", inner: "[dcn0] not a clone\nmore" },
    ]);
    expect(testcase(dcn0, "dcn-6-cinder-snapshot: 6. snap").skipped).toEqual([
      { message: "not verified: tier standard is above read-only", inner: "not verified: tier standard is above read-only" },
    ]);
  });

  test("pools the rbd scan could not list are not verified: at their site, or in the run's suite", async () => {
    const r = await read(junitXml(summary));
    expect(testcase(suite(r, "central"), "rbd leftovers not checked: backups").skipped![0]!.message).toBe(
      "not verified: central: could not list rbd pool backups: timed out after 10 s",
    );
    expect(testcase(suite(r, RUN_SUITE), "rbd leftovers not checked: dcn2: every pool").skipped![0]!.message).toBe(
      "not verified: dcn2: not looked at: no Ceph access",
    );
  });

  test("warnings keep XML's special characters and lose the characters XML cannot carry", async () => {
    const xml = junitXml(summary);
    // eslint-disable-next-line no-control-regex
    expect(xml).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/);
    const r = await read(xml);
    const boots = testcase(suite(r, "dcn0"), "dcn-4-boot-from-volume: 4. boots") as TestCase & {
      properties?: { name: string; value: string }[];
    };
    expect(boots.properties).toEqual([
      { name: "warning", value: 'a <warning> & "more" bell ]]> done' },
      { name: "not-verified", value: "that the server's host is in the AZ: needs admin" },
      { name: "tier", value: "standard" },
    ]);
    expect(suite(r, "dcn0").properties).toEqual([
      { name: "warnings", value: 1 },
      { name: "not-verified", value: 2 },
      { name: "verdict", value: "failed: dcn-5-rbd-parent failed" },
    ]);
  });

  test("an interrupted run is an error in the run's suite; a cleanup not recorded is not verified", async () => {
    const r = await read(
      junitXml({
        ...summary,
        interrupted: true,
        rbdLeftovers: [],
        rbdNotChecked: [],
        sites: [
          { site: "central", status: "passed", errors: [], tests: [{ id: "dcn-1-stores", title: "1.", status: "passed", durationMs: 1 }] },
        ],
      }),
    );
    expect(r.errors).toBe(1);
    expect(testcase(suite(r, RUN_SUITE), `${RUN_SUITE}: interrupted`).error![0]!.type).toBe("interrupted");
    expect(outcome(testcase(suite(r, "central"), "central: cleanup"))).toBe("skipped");
  });

  test("a site where no test ran is an error; what the sweep left at a site without a summary fails the run's cleanup", async () => {
    const r = await read(
      junitXml({
        ...summary,
        rbdLeftovers: [],
        rbdNotChecked: [],
        leftBehind: ["the run's sweep could not delete volume v (1) at dcn9: HTTP 500"],
        sites: [{ site: "central", status: "failed", errors: [], cleanup: [], tests: [] }],
      }),
    );
    expect(testcase(suite(r, "central"), "central: setup").error![0]!.inner).toBe("no test ran at this site");
    expect(testcase(suite(r, RUN_SUITE), `${RUN_SUITE}: cleanup`).failure![0]!.inner).toContain("at dcn9: HTTP 500");
    expect({ errors: r.errors, failures: r.failures }).toEqual({ errors: 1, failures: 1 });
  });
});
