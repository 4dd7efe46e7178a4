import { cloudCall } from "./cloud-wait.ts";
import { isApiError } from "./http.ts";
import { redactText } from "./redact.ts";

export interface WaitTiming {
  timeoutS: number;
  /** First interval between polls. */
  intervalS: number;
  /** The interval grows towards this while nothing changes; equal to intervalS when not given. */
  intervalMaxS?: number;
  /** Test hooks: a fake clock (ms) and sleep. */
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface StatePoint {
  state: string;
  /** Milliseconds since the wait began, at the first poll that saw this state. */
  atMs: number;
  poll: number;
}

export interface WaitResult<T> {
  value: T;
  elapsedMs: number;
  polls: number;
  /** Distinct consecutive states seen. */
  timeline: StatePoint[];
  /** The gaps between consecutive polls: the interval adapts, so this says how finely the wait could see changes. */
  gaps: GapStats;
}

export interface GapStats {
  minMs: number;
  maxMs: number;
  meanMs: number;
}

function gapStats(starts: { first: number; last: number; min: number; max: number; n: number }): GapStats {
  if (starts.n < 2) return { minMs: 0, maxMs: 0, meanMs: 0 };
  return { minMs: starts.min, maxMs: starts.max, meanMs: (starts.last - starts.first) / (starts.n - 1) };
}

export interface WaitForOptions<T> extends WaitTiming {
  /** The resource: "image 5f0c…". */
  what: string;
  /** The state waited for: "status active". */
  expected: string;
  poll: () => Promise<T>;
  done: (value: T) => boolean;
  /** A reason when the wanted state can no longer be reached. */
  terminal?: (value: T) => string | undefined;
  describe?: (value: T) => string;
}

export type WaitFailure = "timeout" | "terminal" | "poll";

export class WaitError<T = unknown> extends Error {
  constructor(
    readonly kind: WaitFailure,
    readonly what: string,
    readonly expected: string,
    readonly elapsedMs: number,
    readonly polls: number,
    readonly lastState: string | undefined,
    readonly lastValue: T | undefined,
    readonly timeline: StatePoint[],
    message: string,
    options?: { cause?: unknown },
  ) {
    super(redactText(message), options);
    this.name = kind === "timeout" ? "WaitTimeoutError" : kind === "terminal" ? "WaitTerminalError" : "WaitPollError";
  }
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

export function formatTimeline(timeline: StatePoint[]): string {
  return timeline.map((p) => `${p.state} @${secs(p.atMs)}`).join(" -> ");
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The one retry primitive: poll until done, a terminal state, or the timeout. */
export function waitFor<T>(o: WaitForOptions<T>): Promise<WaitResult<T>> {
  return cloudCall(() => pollUntil(o));
}

async function pollUntil<T>(o: WaitForOptions<T>): Promise<WaitResult<T>> {
  const describe = o.describe ?? ((v: T) => JSON.stringify(v));
  const timeoutMs = o.timeoutS * 1000;
  const baseMs = o.intervalS * 1000;
  const maxMs = Math.max(baseMs, (o.intervalMaxS ?? o.intervalS) * 1000);
  const now = o.clock ?? (() => performance.now());
  const pause = o.sleep ?? sleep;
  const started = now();
  const timeline: StatePoint[] = [];
  let intervalMs = baseMs;
  let polls = 0;
  let last: { value: T; state: string } | undefined;
  const pollStarts = { first: 0, last: 0, min: Infinity, max: 0, n: 0 };
  const fail = (kind: WaitFailure, message: string, cause?: unknown) =>
    new WaitError<T>(
      kind,
      o.what,
      o.expected,
      now() - started,
      polls,
      last?.state,
      last?.value,
      timeline,
      message,
      cause === undefined ? undefined : { cause },
    );
  for (;;) {
    let value: T;
    const t0 = now();
    if (pollStarts.n === 0) pollStarts.first = t0;
    else {
      const gap = t0 - pollStarts.last;
      pollStarts.min = Math.min(pollStarts.min, gap);
      pollStarts.max = Math.max(pollStarts.max, gap);
    }
    pollStarts.last = t0;
    pollStarts.n++;
    try {
      value = await o.poll();
    } catch (e) {
      const elapsed = now() - started;
      throw fail(
        "poll",
        `${o.what}: polling failed after ${secs(elapsed)} (${polls} polls) while waiting for ${o.expected}: ${(e as Error).message ?? e}` +
          (last ? `; last state: ${last.state}` : ""),
        e,
      );
    }
    polls++;
    const elapsed = now() - started;
    const state = describe(value);
    const changed = last?.state !== state;
    if (changed) timeline.push({ state, atMs: elapsed, poll: polls });
    last = { value, state };
    if (o.done(value)) return { value, elapsedMs: elapsed, polls, timeline, gaps: gapStats(pollStarts) };
    const reason = o.terminal?.(value);
    if (reason) {
      throw fail(
        "terminal",
        `${o.what}: gave up waiting for ${o.expected} after ${secs(elapsed)} (${polls} polls): ${reason}; last state: ${state}; states seen: ${formatTimeline(timeline)}`,
      );
    }
    if (elapsed >= timeoutMs) {
      throw fail(
        "timeout",
        `${o.what}: timed out after ${secs(elapsed)} (${polls} polls, timeout ${o.timeoutS}s) waiting for ${o.expected}; last state: ${state}; states seen: ${formatTimeline(timeline)}`,
      );
    }
    if (changed && polls > 1) intervalMs = baseMs;
    await pause(Math.min(intervalMs, timeoutMs - elapsed));
    intervalMs = Math.min(maxMs, intervalMs * 1.5);
  }
}

export type DeletionState = { gone: true } | { gone: false; value: unknown };

/** Poll show until it answers 404; a status of error_deleting ends the wait early. */
export async function waitForDeletion(show: () => Promise<unknown>, what: string, t: WaitTiming): Promise<WaitResult<DeletionState>> {
  const statusOf = (v: unknown) =>
    typeof v === "object" && v !== null && typeof (v as { status?: unknown }).status === "string"
      ? (v as { status: string }).status
      : undefined;
  return waitFor<DeletionState>({
    ...t,
    what,
    expected: "deletion (404)",
    poll: async () => {
      try {
        return { gone: false, value: await show() };
      } catch (e) {
        if (isApiError(e, 404)) return { gone: true };
        throw e;
      }
    },
    done: (s) => s.gone,
    terminal: (s) => {
      const status = s.gone ? undefined : statusOf(s.value);
      return status === "error_deleting" ? `status is ${status}` : undefined;
    },
    describe: (s) => (s.gone ? "gone" : `present status=${statusOf(s.value) ?? "?"}`),
  });
}
