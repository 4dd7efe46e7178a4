import { AsyncLocalStorage } from "node:async_hooks";
import type { TaskMeta } from "vitest";
import { withinSite } from "../core/cloud-wait.ts";
import { redact, redactText } from "../core/redact.ts";
import type { WaitResult } from "../core/wait.ts";
import { formatTimeline } from "../core/wait.ts";
import { failureCauseOf, namedSite, nameSite } from "./failure-kind.ts";
import { type ProgressEvent, sendProgress } from "./progress.ts";

/** allure-js-commons, loaded when a step first records: the CLI reads the suites for their declarations only. */
const allure = () => import("allure-js-commons");

/** What a test records of itself as it runs: its findings, for the summary, and why it failed. */
export type TestFacts = Pick<TaskMeta, "warnings" | "notVerified" | "failure">;

interface SiteScope {
  site: string;
  /** The running test's facts: its meta. */
  facts?: TestFacts;
}

/** NOTE: the sites run side by side in one worker: each test and hook runs in its site's scope, not in a module global. */
const scope = new AsyncLocalStorage<SiteScope>();

/**
 * Runs body in the site's scope: its progress events name the site, warning() and notVerified() record in facts,
 * a failure that ends the body is recorded there as its cause (site, category, object), and its cloud calls and waits
 * count in the site's cloudWaitMs.
 */
export function inSiteScope<T>(site: string, facts: TestFacts | undefined, body: () => T): T {
  return scope.run({ site, ...(facts ? { facts } : {}) }, () =>
    withinSite(site, () => {
      const value = body();
      if (!facts || !(value instanceof Promise)) return value;
      return value.catch((e: unknown) => {
        // NOTE: vitest's t.skip() throws to end the test: a skip is no failure.
        if ((e as { code?: string } | null)?.code !== "VITEST_PENDING") facts.failure = failureCauseOf(e, site);
        throw e;
      }) as T;
    }),
  );
}

const here = () => scope.getStore()?.site ?? "-";

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Sends an event of the running site to the run's progress display (RunReporter). */
function send(e: DistributiveOmit<ProgressEvent, "site">): void {
  sendProgress({ ...e, site: here() } as ProgressEvent);
}

/** A line of the running site's progress, shown as it is. */
export function progress(text: string): void {
  send({ kind: "line", text: redactText(text) });
}

/** One named step of the procedure: an Allure step, live progress events, and its duration. */
export async function step<T>(title: string, body: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const shown = redactText(title);
  send({ kind: "start", title: shown });
  try {
    const value = await (await allure()).step(title, async () => body());
    send({ kind: "pass", title: shown, ms: Date.now() - started });
    return value;
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    if (namedSite(err) === undefined) {
      err.message = `[${here()}] ${title}: ${err.message}`;
      nameSite(err, here());
    }
    err.message = redactText(err.message);
    send({ kind: "fail", title: shown, ms: Date.now() - started, error: err.message.split("\n")[0]! });
    throw err;
  }
}

export async function attachJson(name: string, value: unknown): Promise<void> {
  await (await allure()).attachment(name, JSON.stringify(redact(value), null, 2), "application/json");
}

export async function attachText(name: string, text: string): Promise<void> {
  await (await allure()).attachment(name, redactText(text), "text/plain");
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
  send({ kind: "outcome", title: redactText(title) });
  const { logStep, Status } = await allure();
  await logStep(title, Status.PASSED);
  await attachText(`outcome: ${title}`, detail);
}

/**
 * Information: what a check left out, or saw that holds on every correct cloud. Its own step in the report and a
 * progress line; neither a warning nor not verified, so it never fails --strict.
 */
export async function info(title: string, detail: string): Promise<void> {
  send({ kind: "info", title: redactText(title) });
  const { logStep, Status } = await allure();
  await logStep(`info: ${title}`, Status.PASSED);
  await attachText(`info: ${title}`, detail);
}

/** What a check could not look at: its own step in the report, never a pass. */
export async function notVerified(title: string, reason: string): Promise<void> {
  send({ kind: "not-verified", title: redactText(title) });
  const findings = scope.getStore()?.facts;
  if (findings) (findings.notVerified ??= []).push(redactText(`${title}: ${reason}`));
  const { logStep, Status } = await allure();
  await logStep(`not verified: ${title}`, Status.SKIPPED);
  await attachText(`not verified: ${title}`, reason);
}

export async function warning(title: string, detail: string): Promise<void> {
  send({ kind: "warning", title: redactText(title) });
  const findings = scope.getStore()?.facts;
  if (findings) (findings.warnings ??= []).push(redactText(title));
  const { logStep, Status } = await allure();
  await logStep(`warning: ${title}`, Status.BROKEN);
  await attachText(`warning: ${title}`, detail);
}
