import type { WaitTiming } from "../core/wait.ts";
import type { Timeouts } from "./schema.ts";

type WaitKey = Exclude<
  keyof Timeouts,
  "pollInterval" | "pollIntervalMax" | "importPollInterval" | "importPollIntervalMax" | "request" | "cephReach"
>;

/** Timing for one kind of wait, from the config's timeouts. */
export function timing(t: Timeouts, key: WaitKey): WaitTiming {
  return { timeoutS: t[key], intervalS: t.pollInterval, intervalMaxS: t.pollIntervalMax };
}

/** Timing for an import (copy-image, web-download, glance-direct): polled faster than the rest. */
export function importTiming(t: Timeouts, key: WaitKey): WaitTiming {
  return { timeoutS: t[key], intervalS: t.importPollInterval, intervalMaxS: t.importPollIntervalMax };
}
