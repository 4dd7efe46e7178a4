import { AsyncLocalStorage } from "node:async_hooks";
import * as allure from "allure-js-commons";
import { Status } from "allure-js-commons";
import { withinSite } from "../core/cloud-wait.ts";
import { redact, redactText } from "../core/redact.ts";
import type { WaitResult } from "../core/wait.ts";
import { formatTimeline } from "../core/wait.ts";

/** A line the CLI's progress reporter shows as it comes: "§progress <site> <text>". */
export const PROGRESS_MARK = "§progress";

interface SiteScope {
  site: string;
  /** The running test's findings, for the summary: its meta. */
  findings?: { warnings?: string[]; notVerified?: string[] };
}

/** NOTE: the sites run side by side in one worker: each test and hook runs in its site's scope, not in a module global. */
const scope = new AsyncLocalStorage<SiteScope>();

/**
 * Runs body in the site's scope: its progress lines name the site, warning() and notVerified() record in findings, and
 * its cloud calls and waits count in the site's cloudWaitMs.
 */
export function inSiteScope<T>(site: string, findings: SiteScope["findings"], body: () => T): T {
  return scope.run({ site, ...(findings ? { findings } : {}) }, () => withinSite(site, body));
}

const progressSite = () => scope.getStore()?.site ?? "-";

export function progress(text: string): void {
  console.log(`${PROGRESS_MARK} ${progressSite()} ${redactText(text)}`);
}

/** One named step of the procedure: an Allure step, a live progress line, and its duration. */
export async function step<T>(title: string, body: () => Promise<T>): Promise<T> {
  const started = Date.now();
  progress(`▶ ${title}`);
  try {
    const value = await allure.step(title, async () => body());
    progress(`✔ ${title} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    return value;
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    if (!err.message.startsWith("[")) err.message = `[${progressSite()}] ${title}: ${err.message}`;
    err.message = redactText(err.message);
    progress(`✘ ${title} (${((Date.now() - started) / 1000).toFixed(1)} s): ${err.message.split("\n")[0]}`);
    throw err;
  }
}

export async function attachJson(name: string, value: unknown): Promise<void> {
  await allure.attachment(name, JSON.stringify(redact(value), null, 2), "application/json");
}

export async function attachText(name: string, text: string): Promise<void> {
  await allure.attachment(name, redactText(text), "text/plain");
}

/** Records how long a wait took, how often it polled and the states it saw. */
export async function attachWait(name: string, r: WaitResult<unknown>): Promise<void> {
  await attachJson(`wait: ${name}`, {
    elapsedSeconds: +(r.elapsedMs / 1000).toFixed(2),
    polls: r.polls,
    secondsBetweenPolls: {
      min: +(r.gaps.minMs / 1000).toFixed(2),
      mean: +(r.gaps.meanMs / 1000).toFixed(2),
      max: +(r.gaps.maxMs / 1000).toFixed(2),
    },
    timeline: formatTimeline(r.timeline),
  });
}

/** A named outcome that is neither pass nor fail on its own: shown as its own step in the report. */
export async function outcome(title: string, detail: string): Promise<void> {
  progress(`● ${title}`);
  await allure.logStep(title, Status.PASSED);
  await attachText(`outcome: ${title}`, detail);
}

/**
 * Information: what a check left out, or saw that holds on every correct cloud. Its own step in the report and a
 * progress line; neither a warning nor not verified, so it never fails --strict.
 */
export async function info(title: string, detail: string): Promise<void> {
  progress(`ℹ ${title}`);
  await allure.logStep(`info: ${title}`, Status.PASSED);
  await attachText(`info: ${title}`, detail);
}

/** What a check could not look at: its own step in the report, never a pass. */
export async function notVerified(title: string, reason: string): Promise<void> {
  progress(`○ not verified: ${title}`);
  const findings = scope.getStore()?.findings;
  if (findings) (findings.notVerified ??= []).push(redactText(`${title}: ${reason}`));
  await allure.logStep(`not verified: ${title}`, Status.SKIPPED);
  await attachText(`not verified: ${title}`, reason);
}

export async function warning(title: string, detail: string): Promise<void> {
  progress(`⚠ ${title}`);
  const findings = scope.getStore()?.findings;
  if (findings) (findings.warnings ??= []).push(redactText(title));
  await allure.logStep(`warning: ${title}`, Status.BROKEN);
  await attachText(`warning: ${title}`, detail);
}
