import { describe, expect, test, vi } from "vitest";
import { allureLabelsOf } from "./allure-per-site.ts";
import { BroadcastChannel } from "node:worker_threads";
import { LiveProgress, sendProgress } from "./progress.ts";
import { RunReporter } from "./reporter.ts";

const stream = (isTTY: boolean) => {
  const chunks: string[] = [];
  return { out: { isTTY, columns: 100, write: (t: string) => chunks.push(t) }, text: () => chunks.join(""), chunks };
};

describe("live progress", () => {
  test("not a terminal: a line per step and per result, as they come", () => {
    const s = stream(false);
    const p = new LiveProgress(s.out);
    p.event({ site: "dcn0", kind: "start", title: "copy-image" });
    p.result("dcn0", "PASS", "3. copy-image");
    p.end();
    expect(s.text()).toBe("[dcn0] ▶ copy-image\n[dcn0] PASS 3. copy-image\n");
  });

  test("on a terminal: one line per site in flight and a total, redrawn in place; failures stay above", () => {
    vi.useFakeTimers();
    try {
      let now = 0;
      const s = stream(true);
      const p = new LiveProgress(s.out, { now: () => now });
      p.event({ site: "central", kind: "start", title: "list the Glance stores" });
      p.event({ site: "dcn0", kind: "start", title: "copy-image to dcn0" });
      now = 12_000;
      p.result("central", "PASS", "1. stores");
      vi.advanceTimersByTime(250);
      expect(p.lines()).toEqual([
        "[central] 1 passed, 0 failed, 0 skipped, 12 s: list the Glance stores",
        "[dcn0] 0 passed, 0 failed, 0 skipped, 12 s: copy-image to dcn0",
        "2 site(s) in flight, 0 done: 1 passed, 0 failed, 0 skipped",
      ]);
      p.siteDone("central");
      p.result("dcn0", "FAIL", "3. copy-image");
      // The failure is printed for good, then the block again, now without central.
      expect(s.text()).toContain(
        "[dcn0] FAIL 3. copy-image\n[dcn0] 0 passed, 1 failed, 0 skipped, 12 s: copy-image to dcn0\n1 site(s) in flight, 1 done",
      );
      // Each redraw first moves up over the lines drawn before and clears them.
      expect(s.text()).toContain("\x1b[3F\x1b[J");
      p.end();
      expect(s.chunks.at(-1)).toBe("\x1b[2F\x1b[J");
    } finally {
      vi.useRealTimers();
    }
  });

  test("verbose on a terminal keeps the line per step", () => {
    const s = stream(true);
    const p = new LiveProgress(s.out, { verbose: true });
    p.event({ site: "dcn1", kind: "fail", title: "copy-image", ms: 1200, error: "409" });
    p.end();
    expect(s.text()).toBe("[dcn1] ✘ copy-image (1.2 s): 409\n");
  });
});

describe("progress from the worker", () => {
  test("the reporter shows the typed records sent while it listens, and nothing that is not one", async () => {
    const s = stream(false);
    const reporter = new RunReporter(new LiveProgress(s.out));
    const other = new BroadcastChannel("dcn-verify:progress");
    sendProgress({ site: "dcn0", kind: "start", title: "before the reporter listens" });
    reporter.onInit();
    try {
      sendProgress({ site: "dcn0", kind: "start", title: "copy-image to dcn0" });
      other.postMessage("§progress dcn0 ▶ a line in the old text form");
      other.postMessage({ site: "dcn0", kind: "start" });
      console.log(JSON.stringify({ "dcn-verify.progress": { site: "dcn0", kind: "start", title: "a console line" } }));
      sendProgress({ site: "dcn1", kind: "pass", title: "boot", ms: 300 });
      sendProgress({ site: "dcn1", kind: "line", text: "cleanup: deleted volume v (1)" });
      await new Promise((done) => setTimeout(done, 50));
    } finally {
      reporter.close();
      other.close();
    }
    sendProgress({ site: "dcn1", kind: "line", text: "after close" });
    await new Promise((done) => setTimeout(done, 20));
    expect(s.text()).toBe("[dcn0] ▶ copy-image to dcn0\n[dcn1] ✔ boot (0.3 s)\n[dcn1] cleanup: deleted volume v (1)\n");
  });

  test("each kind of event reads as the lines always have", () => {
    const s = stream(false);
    const p = new LiveProgress(s.out);
    for (const kind of ["outcome", "info", "not-verified", "warning"] as const) p.event({ site: "c", kind, title: "t" });
    expect(s.text()).toBe("[c] ● t\n[c] ℹ t\n[c] ○ not verified: t\n[c] ⚠ t\n");
  });
});

describe("Allure labels", () => {
  test("derived from the test's facts in its meta and its site", () => {
    const labels = allureLabelsOf("dcn0", {
      testId: "dcn-3-copy-to-edge",
      tier: "standard",
      failure: { site: "dcn1", category: "infrastructure" },
    });
    expect(labels).toEqual([
      { name: "site", value: "dcn0" },
      { name: "testId", value: "dcn-3-copy-to-edge" },
      { name: "tier", value: "standard" },
      { name: "tag", value: "standard" },
      { name: "tag", value: "dcn0" },
      { name: "failure", value: "infrastructure" },
    ]);
  });
});
