import { processChannel } from "../core/channel.ts";
import { z } from "zod";

const site = z.string();
const title = z.string();

/**
 * One progress event of a site, as its tests and hooks in the worker report it: a step started, passed or failed;
 * an outcome, information, something not verified or a warning; or a line of its own (the site's cleanup).
 */
export const progressEventSchema = z.discriminatedUnion("kind", [
  z.object({ site, kind: z.literal("start"), title }),
  z.object({ site, kind: z.literal("pass"), title, ms: z.number() }),
  z.object({ site, kind: z.literal("fail"), title, ms: z.number(), error: z.string() }),
  z.object({ site, kind: z.enum(["outcome", "info", "not-verified", "warning"]), title }),
  z.object({ site, kind: z.literal("line"), text: z.string() }),
]);

export type ProgressEvent = z.infer<typeof progressEventSchema>;
export type ProgressKind = ProgressEvent["kind"];

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** How each kind of event reads on its site's line. */
const TEXT: { [K in ProgressKind]: (e: ProgressEvent & { kind: K }) => string } = {
  start: (e) => `▶ ${e.title}`,
  pass: (e) => `✔ ${e.title} (${secs(e.ms)})`,
  fail: (e) => `✘ ${e.title} (${secs(e.ms)}): ${e.error}`,
  outcome: (e) => `● ${e.title}`,
  info: (e) => `ℹ ${e.title}`,
  "not-verified": (e) => `○ not verified: ${e.title}`,
  warning: (e) => `⚠ ${e.title}`,
  line: (e) => e.text,
};

/** The event as its site's progress line shows it, after `[site] `. */
export const progressText = (e: ProgressEvent): string => (TEXT[e.kind] as (e: ProgressEvent) => string)(e);

// NOTE: the sites run in the test runner's worker thread and the reporter in the main thread: each event is sent
// as the record itself, live, from hooks as well as tests.
const progressChannel = processChannel<ProgressEvent>("dcn-verify:progress", (data) => {
  const parsed = progressEventSchema.safeParse(data);
  return parsed.success ? parsed.data : undefined;
});

/** Sends an event of a site to the run's progress display (listenProgress, in any thread of the process). */
export const sendProgress = (e: ProgressEvent): void => progressChannel.send(e);

/** Calls on with each progress event sent in the process, validated; close() stops listening. */
export const listenProgress = (on: (e: ProgressEvent) => void): { close(): void } => progressChannel.listen(on);

/** Where progress goes: stderr, or a test's stand-in. */
export interface ProgressOut {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

interface SiteLine {
  step: string;
  passed: number;
  failed: number;
  skipped: number;
  started: number;
  done: boolean;
}

/**
 * The run's live progress. On a terminal: one line per site in flight (its current step, counts and elapsed
 * time) and a total, redrawn in place, with failures printed above them as they happen. Otherwise (or verbose):
 * a line per step and per result, as they come.
 */
export class LiveProgress {
  private readonly sites = new Map<string, SiteLine>();
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly live: boolean;

  constructor(
    private readonly out: ProgressOut,
    o: { verbose?: boolean; now?: () => number } = {},
  ) {
    this.live = Boolean(out.isTTY) && !o.verbose;
    this.now = o.now ?? Date.now;
  }

  private readonly now: () => number;

  private site(name: string): SiteLine {
    let s = this.sites.get(name);
    if (!s) this.sites.set(name, (s = { step: "starting", passed: 0, failed: 0, skipped: 0, started: this.now(), done: false }));
    return s;
  }

  /** An event of a site's tests or hooks: a line per event, or on a terminal its step in the block and a failure above it. */
  event(e: ProgressEvent): void {
    const s = this.site(e.site);
    const line = `[${e.site}] ${progressText(e)}`;
    if (!this.live) return void this.out.write(`${line}\n`);
    if (e.kind === "start") s.step = e.title;
    if (e.kind === "fail") this.above(line);
    this.schedule();
  }

  /** A test's result at a site. */
  result(site: string, mark: "PASS" | "FAIL" | "SKIP", name: string): void {
    const s = this.site(site);
    if (mark === "PASS") s.passed++;
    else if (mark === "FAIL") s.failed++;
    else s.skipped++;
    if (!this.live) return void this.out.write(`[${site}] ${mark} ${name}\n`);
    if (mark === "FAIL") this.above(`[${site}] FAIL ${name}`);
    this.schedule();
  }

  /** A site whose suite files have all ended: its line leaves the block. */
  siteDone(site: string): void {
    this.site(site).done = true;
    if (this.live) this.schedule();
  }

  /** Clears the block (the final table follows on stdout). */
  end(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.live) this.clear();
  }

  /** The lines of the block, as drawn now. */
  lines(): string[] {
    const width = Math.max(40, (this.out.columns ?? 120) - 1);
    const all = [...this.sites.entries()];
    const inFlight = all.filter(([, s]) => !s.done);
    const secs = (s: SiteLine) => `${Math.round((this.now() - s.started) / 1000)} s`;
    const rows = inFlight.map(([name, s]) =>
      `[${name}] ${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped, ${secs(s)}: ${s.step}`.slice(0, width),
    );
    const sum = (k: "passed" | "failed" | "skipped") => all.reduce((n, [, s]) => n + s[k], 0);
    rows.push(
      `${inFlight.length} site(s) in flight, ${all.length - inFlight.length} done: ${sum("passed")} passed, ${sum("failed")} failed, ${sum("skipped")} skipped`.slice(
        0,
        width,
      ),
    );
    return rows;
  }

  private schedule(): void {
    // NOTE: redraws are at most five a second: sites in parallel print far more step lines than a terminal can show.
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.draw();
    }, 200);
  }

  private clear(): void {
    if (this.drawn) this.out.write(`\x1b[${this.drawn}F\x1b[J`);
    this.drawn = 0;
  }

  private above(line: string): void {
    this.clear();
    this.out.write(`${line}\n`);
    this.draw();
  }

  private draw(): void {
    this.clear();
    const lines = this.lines();
    this.out.write(`${lines.join("\n")}\n`);
    this.drawn = lines.length;
  }
}
