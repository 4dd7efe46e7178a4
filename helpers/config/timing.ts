import type { Timeouts } from "./schema.ts";
import { isApiError } from "../core/http.ts";
import { redactText } from "../core/redact.ts";
import type { ComputeClient, Server } from "../clients/compute.ts";
import type { Image, ImageClient, Task } from "../clients/image.ts";
import type { Backup, Snapshot, Volume, VolumeClient } from "../clients/volume.ts";
import { WaitTiming } from "../core/wait.ts";

type WaitKey = Exclude<keyof Timeouts, "pollInterval" | "pollIntervalMax" | "importPollInterval" | "importPollIntervalMax" | "request">;

/** Timing for one kind of wait, from the config's timeouts. */
export function timing(t: Timeouts, key: WaitKey): WaitTiming {
  return { timeoutS: t[key], intervalS: t.pollInterval, intervalMaxS: t.pollIntervalMax };
}

/** Timing for an import (copy-image, web-download, glance-direct): polled faster than the rest. */
export function importTiming(t: Timeouts, key: WaitKey): WaitTiming {
  return { timeoutS: t[key], intervalS: t.importPollInterval, intervalMaxS: t.importPollIntervalMax };
}
