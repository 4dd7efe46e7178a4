import type { RunSummary } from "./model.ts";

const esc = (s: string) =>
  s
    // eslint-disable-next-line no-control-regex -- XML 1.0 cannot carry these characters at all
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");

/**
 * JUnit XML from the run's summary: one testsuite per site. A failure carries its category; a test
 * that did not run is skipped with why; warnings and what a passing test could not look at are
 * properties of the test case, and the site's counts properties of its suite.
 */
export function junitXml(summary: RunSummary): string {
  const suites = summary.sites.map((s) => {
    const tests = s.tests.map((t) => {
      const props = [
        ...(t.warnings ?? []).map((w) => `<property name="warning" value="${esc(w)}"/>`),
        ...(t.status !== "skipped" ? (t.notVerified ?? []) : []).map((n) => `<property name="not-verified" value="${esc(n)}"/>`),
        ...(t.tier ? [`<property name="tier" value="${esc(t.tier)}"/>`] : []),
      ];
      const body = [
        props.length ? `<properties>${props.join("")}</properties>` : "",
        t.status === "failed"
          ? `<failure type="${esc(t.failureKind ?? "failure")}" message="${esc((t.failure ?? "").split("\n")[0]!)}">${esc(t.failure ?? "")}</failure>`
          : "",
        t.status === "skipped" ? `<skipped message="${esc(`not verified: ${(t.notVerified ?? []).join("; ") || "did not run"}`)}"/>` : "",
      ].join("");
      return `    <testcase classname="${esc(s.site)}" name="${esc(`${t.id}: ${t.title}`)}" time="${(t.durationMs / 1000).toFixed(3)}">${body}</testcase>`;
    });
    const c = s.counts;
    const failures = s.tests.filter((t) => t.status === "failed").length;
    const skipped = s.tests.filter((t) => t.status === "skipped").length;
    const time = s.tests.reduce((a, t) => a + t.durationMs, 0) / 1000;
    const props = c
      ? `    <properties><property name="warnings" value="${c.warnings}"/><property name="not-verified" value="${c.notVerified}"/></properties>\n`
      : "";
    const errors = s.errors.map((e) => `    <system-err>${esc(e)}</system-err>\n`).join("");
    return (
      `  <testsuite name="${esc(s.site)}" tests="${s.tests.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${time.toFixed(3)}">\n` +
      props +
      tests.join("\n") +
      "\n" +
      errors +
      "  </testsuite>"
    );
  });
  const all = summary.sites.flatMap((s) => s.tests);
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="dcn-verify ${esc(summary.runId)}" tests="${all.length}" ` +
    `failures="${all.filter((t) => t.status === "failed").length}" errors="0" skipped="${all.filter((t) => t.status === "skipped").length}">\n` +
    suites.join("\n") +
    "\n</testsuites>\n"
  );
}
