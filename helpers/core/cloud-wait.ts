import { AsyncLocalStorage } from "node:async_hooks";
import { processChannel } from "./channel.ts";

/**
 * The wall time during which at least one interval was open: overlapping and nested intervals count once (the
 * length of their union). Intervals are opened and closed as they happen, so the union is kept as it grows.
 */
export class IntervalUnion {
  private open = 0;
  private since = 0;
  private closedMs = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Opens an interval; the function returned closes it (once, however often it is called). */
  begin(): () => void {
    if (this.open++ === 0) this.since = this.now();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.open === 0) this.closedMs += this.now() - this.since;
    };
  }

  /** The union's length so far, an interval still open counted up to now. */
  get ms(): number {
    return this.closedMs + (this.open > 0 ? this.now() - this.since : 0);
  }
}

/** What a site's scope reports to the run: the union of its cloud calls and waits so far. */
interface CloudWaitMessage {
  site: string;
  ms: number;
}

// NOTE: the sites run in the test runner's worker thread and summary.json is written by the main thread: a
// BroadcastChannel reaches every thread of the process.
const channel = processChannel<CloudWaitMessage>("dcn-verify:cloud-wait", (data) => {
  const m = data as Partial<CloudWaitMessage> | null;
  return typeof m?.site === "string" && typeof m.ms === "number" ? (m as CloudWaitMessage) : undefined;
});

const accounts = new Map<string, IntervalUnion>();
const current = new AsyncLocalStorage<{ site: string; union: IntervalUnion }>();
function report(site: string, union: IntervalUnion): void {
  channel.send({ site, ms: Math.round(union.ms) });
}

/**
 * Runs body with the site's cloud calls and waits counted in the site's account; when body settles, the account's
 * total is reported to the run (listenCloudWait).
 */
export function withinSite<T>(site: string, body: () => T): T {
  let union = accounts.get(site);
  if (!union) accounts.set(site, (union = new IntervalUnion()));
  const u = union;
  const result = current.run({ site, union: u }, body);
  if (result instanceof Promise) {
    result.then(
      () => report(site, u),
      () => report(site, u),
    );
  } else report(site, u);
  return result;
}

/** Opens an interval in the running site's account (none outside a site's scope); the function returned closes it. */
export function cloudSpan(): () => void {
  return current.getStore()?.union.begin() ?? noop;
}

const noop = () => undefined;

/** A call to the cloud (an API request, a wait on a state, a Ceph command), counted in the running site's account. */
export async function cloudCall<T>(body: () => Promise<T>): Promise<T> {
  const end = cloudSpan();
  try {
    return await body();
  } finally {
    end();
  }
}

/** The sites' accounts as their scopes report them, for the run's summary. */
export interface CloudWaitListener {
  /** Each site's union of cloud calls and waits (ms), written as cloudWaitMs on the sites that have one; stops listening. */
  record(sites: { site: string; cloudWaitMs?: number }[]): void;
}

export function listenCloudWait(): CloudWaitListener {
  const bySite = new Map<string, number>();
  const listening = channel.listen((m) => bySite.set(m.site, Math.max(m.ms, bySite.get(m.site) ?? 0)));
  return {
    record(sites) {
      listening.close();
      for (const s of sites) {
        const ms = bySite.get(s.site);
        if (ms !== undefined) s.cloudWaitMs = ms;
      }
    },
  };
}
