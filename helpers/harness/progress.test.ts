import { describe, expect, test, vi } from "vitest";
import { LiveProgress } from "./progress.ts";

const stream = (isTTY: boolean) => {
  const chunks: string[] = [];
  return { out: { isTTY, columns: 100, write: (t: string) => chunks.push(t) }, text: () => chunks.join(""), chunks };
};

describe("live progress", () => {
  test("not a terminal: a line per step and per result, as they come", () => {
    const s = stream(false);
    const p = new LiveProgress(s.out);
    p.step("dcn0", "▶ copy-image");
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
      p.step("central", "▶ list the Glance stores");
      p.step("dcn0", "▶ copy-image to dcn0");
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
    p.step("dcn1", "✘ copy-image: 409");
    p.end();
    expect(s.text()).toBe("[dcn1] ✘ copy-image: 409\n");
  });
});
