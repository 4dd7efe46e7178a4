import { XMLBuilder } from "fast-xml-parser";
import type { KnownFailure } from "../../harness/gates.ts";
import type { RunSummary, SiteSummary, TestSummary } from "../../harness/model.ts";
import { formatRbdLeftover, formatRbdNotChecked, type RbdLeftover, type RbdNotChecked } from "../../harness/rbd-leftovers.ts";

/** The name of the testsuite for what belongs to the run rather than to one of its sites. */
export const RUN_SUITE = "dcn-verify run";

type Outcome = { kind: "passed" } | { kind: "failure" | "error"; type: string; text: string } | { kind: "skipped"; text: string };

interface Case {
  name: string;
  classname: string;
  timeS: number;
  outcome: Outcome;
  properties?: [string, string][];
  systemOut?: string;
}

// XML 1.0 cannot carry these characters at all, escaped or not: the builder escapes, this drops.
const INVALID =
  // eslint-disable-next-line no-control-regex -- the characters XML 1.0 cannot carry, and lone surrogates
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const clean = (s: string) => s.replace(INVALID, "");
const firstLine = (s: string) => s.split("\n")[0]!;
const unique = <T>(xs: T[], key: (x: T) => string) => [...new Map(xs.map((x) => [key(x), x])).values()];

function testCase(site: string, t: TestSummary, known: KnownFailure[]): Case {
  const properties: [string, string][] = [
    ...(t.warnings ?? []).map((w): [string, string] => ["warning", w]),
    ...(t.status !== "skipped" ? (t.notVerified ?? []) : []).map((n): [string, string] => ["not-verified", n]),
    ...(t.tier ? [["tier", t.tier] as [string, string]] : []),
  ];
  const base = { name: `${t.id}: ${t.title}`, classname: site, timeS: t.durationMs / 1000 };
  if (t.status === "passed") return { ...base, outcome: { kind: "passed" }, properties };
  if (t.status === "skipped")
    return {
      ...base,
      outcome: { kind: "skipped", text: `not verified: ${(t.notVerified ?? []).join("; ") || "did not run"}` },
      properties,
    };
  const failure = t.failure ?? "";
  const k = known.find((x) => x.test === t.id);
  if (!k) return { ...base, outcome: { kind: "failure", type: t.failureKind ?? "failure", text: failure }, properties };
  // Covered by a live known issue: the run exits 0 for it, so no consumer may count it as a failure; it is
  // skipped with the failure it covers in its message.
  const covered = k.message || firstLine(failure);
  return {
    ...base,
    outcome: { kind: "skipped", text: `known issue ${k.link} until ${k.expires}: ${k.reason}: ${covered}` },
    properties: [
      ...properties,
      ["known-issue", `${k.link} until ${k.expires}: ${k.reason}`],
      ...(k.category ? [["known-issue-category", k.category] as [string, string]] : []),
      ...(t.failureKind ? [["failure-kind", t.failureKind] as [string, string]] : []),
    ],
    ...(failure ? { systemOut: failure } : {}),
  };
}

function rbdNotCheckedCase(classname: string, n: RbdNotChecked, pool: string): Case {
  return {
    name: `rbd leftovers not checked: ${pool}`,
    classname,
    timeS: 0,
    outcome: { kind: "skipped", text: `not verified: ${formatRbdNotChecked(n)}` },
  };
}

function siteCases(s: SiteSummary, rbd: RbdLeftover[], notChecked: RbdNotChecked[]): Case[] {
  const known: KnownFailure[] = s.gates?.known ?? [];
  const cases = s.tests.map((t) => testCase(s.site, t, known));
  if (s.errors.length || s.tests.length === 0)
    cases.unshift({
      name: `${s.site}: setup`,
      classname: s.site,
      timeS: 0,
      outcome: { kind: "error", type: "setup", text: s.errors.length ? s.errors.join("\n") : "no test ran at this site" },
    });
  const left = [...(s.cleanup ?? []), ...rbd.map(formatRbdLeftover)];
  cases.push({
    name: `${s.site}: cleanup`,
    classname: s.site,
    timeS: 0,
    outcome: left.length
      ? { kind: "failure", type: "cleanup", text: left.join("\n") }
      : s.cleanup
        ? { kind: "passed" }
        : // A summary that does not record its cleanup (an older one) cannot say that it left nothing.
          { kind: "skipped", text: "not verified: this summary does not record what the cleanup left" },
  });
  for (const n of notChecked) cases.push(rbdNotCheckedCase(s.site, n, n.pool ?? "every pool"));
  const unmet = (s.gates?.results ?? []).filter((r) => !r.ok);
  if (s.gates)
    cases.push({
      name: `${s.site}: gates`,
      classname: s.site,
      timeS: 0,
      outcome: unmet.length
        ? { kind: "failure", type: "gates", text: unmet.map((g) => `gate ${g.name} not met: ${g.detail}`).join("\n") }
        : { kind: "passed" },
    });
  return cases;
}

interface Counts {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  time: string;
}

function countsOf(cases: Case[]): Counts {
  return {
    tests: cases.length,
    failures: cases.filter((c) => c.outcome.kind === "failure").length,
    errors: cases.filter((c) => c.outcome.kind === "error").length,
    skipped: cases.filter((c) => c.outcome.kind === "skipped").length,
    time: cases.reduce((a, c) => a + c.timeS, 0).toFixed(3),
  };
}

const attrs = (c: Counts) => ({
  "@_tests": c.tests,
  "@_failures": c.failures,
  "@_errors": c.errors,
  "@_skipped": c.skipped,
  "@_time": c.time,
});

const properties = (ps: [string, string][]) =>
  ps.length ? { properties: { property: ps.map(([name, value]) => ({ "@_name": clean(name), "@_value": clean(value) })) } } : {};

function caseNode(c: Case) {
  const o = c.outcome;
  const text = o.kind === "passed" ? "" : clean(o.text);
  return {
    // classname before name, as the lab tests read them
    "@_classname": clean(c.classname),
    "@_name": clean(c.name),
    "@_time": c.timeS.toFixed(3),
    ...properties(c.properties ?? []),
    ...(o.kind === "failure" || o.kind === "error"
      ? { [o.kind]: { "@_type": clean(o.type), "@_message": firstLine(text), "#text": text } }
      : {}),
    // The message both as the attribute (Jenkins, most parsers) and as the text (GitLab shows the element's text).
    ...(o.kind === "skipped" ? { skipped: { "@_message": firstLine(text), "#text": text } } : {}),
    ...(c.systemOut ? { "system-out": clean(c.systemOut) } : {}),
  };
}

/**
 * JUnit XML from the run's summary: one testsuite per site, and one for the run when something is
 * not any selected site's. A failure carries its category; a test that did not run is skipped with
 * why; a failure a live known issue covers is skipped with the issue and the failure it covers.
 * A site's setup errors are an errored case "<site>: setup"; what its cleanup (or the run's sweep)
 * left, and its rbd leftovers, fail the case "<site>: cleanup"; pools the rbd scan could not list
 * are skipped cases. Every count is that of the cases written.
 */
export function junitXml(summary: RunSummary): string {
  const names = new Set(summary.sites.map((s) => s.site));
  const leftovers = unique(summary.rbdLeftovers ?? [], formatRbdLeftover);
  const notChecked = unique(summary.rbdNotChecked ?? [], formatRbdNotChecked);

  const suites = summary.sites.map((s) => {
    const cases = siteCases(
      s,
      leftovers.filter((r) => r.site === s.site),
      notChecked.filter((n) => n.site === s.site),
    );
    const c = s.counts;
    const props: [string, string][] = [
      ...(c
        ? [
            ["warnings", String(c.warnings)],
            ["not-verified", String(c.notVerified)],
          ]
        : []),
      ...(s.verdict ? [["verdict", s.verdict.ok ? "passed" : `failed: ${s.verdict.reasons.join("; ")}`]] : []),
    ] as [string, string][];
    return { name: s.site, props, cases };
  });

  const run: Case[] = [];
  if (summary.interrupted)
    run.push({
      name: `${RUN_SUITE}: interrupted`,
      classname: RUN_SUITE,
      timeS: 0,
      outcome: {
        kind: "error",
        type: "interrupted",
        text: "the run was interrupted before it finished: what it did not reach was not verified",
      },
    });
  const strayLeftovers = leftovers.filter((r) => !names.has(r.site));
  for (const site of unique(
    strayLeftovers.map((r) => r.site),
    (x) => x,
  ))
    run.push({
      name: `rbd leftovers: ${site}`,
      classname: RUN_SUITE,
      timeS: 0,
      outcome: {
        kind: "failure",
        type: "cleanup",
        text: strayLeftovers
          .filter((r) => r.site === site)
          .map(formatRbdLeftover)
          .join("\n"),
      },
    });
  if (summary.leftBehind?.length)
    run.push({
      name: `${RUN_SUITE}: cleanup`,
      classname: RUN_SUITE,
      timeS: 0,
      outcome: { kind: "failure", type: "cleanup", text: summary.leftBehind.join("\n") },
    });
  for (const n of notChecked.filter((x) => !names.has(x.site))) run.push(rbdNotCheckedCase(RUN_SUITE, n, `${n.site}: ${n.pool ?? "every pool"}`));
  if (run.length) suites.push({ name: RUN_SUITE, props: [], cases: run });

  const counted = suites.map((s) => ({ ...s, counts: countsOf(s.cases) }));
  const total = countsOf(suites.flatMap((s) => s.cases));
  const doc = {
    "?xml": { "@_version": "1.0", "@_encoding": "UTF-8" },
    testsuites: {
      "@_name": clean(`dcn-verify ${summary.runId}`),
      ...attrs(total),
      testsuite: counted.map((s) => ({
        "@_name": clean(s.name),
        ...attrs(s.counts),
        ...properties(s.props),
        testcase: s.cases.map(caseNode),
      })),
    },
  };
  const builder = new XMLBuilder({
    ignoreAttributes: false,
    attributeNamePrefix: "@_",
    textNodeName: "#text",
    format: true,
    indentBy: "  ",
    suppressEmptyNode: true,
    processEntities: true,
  });
  return builder.build(doc) as string;
}
