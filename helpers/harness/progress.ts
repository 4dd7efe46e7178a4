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

  /** A step line from a site's tests: "▶ title", "✔ title (0.3 s)", "✘ title: why". */
  step(site: string, text: string): void {
    const s = this.site(site);
    if (!this.live) return void this.out.write(`[${site}] ${text}\n`);
    if (text.startsWith("▶ ")) s.step = text.slice(2);
    if (text.startsWith("✘ ")) this.above(`[${site}] ${text}`);
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
