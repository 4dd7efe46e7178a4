import { CephCommandError, CephProbeError, isNoCephAccess } from "../ceph/probe.ts";
import { ApiError, ResponseValidationError } from "../core/http.ts";
import { WaitError } from "../core/wait.ts";
import type { FailureCause, FailureKind } from "./model.ts";
import { SiteUnreachableError } from "./reach.ts";

export type { FailureCause, FailureKind } from "./model.ts";

/** A check about the cloud failed: the message names the site and what was wrong; object, where given, is what was wrong. */
export class ProductDefect extends Error {
  constructor(
    readonly site: string,
    message: string,
    readonly object?: string,
  ) {
    super(`[${site}] ${message}`);
    this.name = "ProductDefect";
  }
}

/** The cloud or its Ceph could not be reached: the message names what did not answer; site and object, where given, say it as fields. */
export class InfrastructureError extends Error {
  readonly site?: string;
  readonly object?: string;

  constructor(message: string, options?: ErrorOptions & { site?: string; object?: string }) {
    super(message, options);
    this.name = "InfrastructureError";
    if (options?.site !== undefined) this.site = options.site;
    if (options?.object !== undefined) this.object = options.object;
  }
}

export const FAILURE_KINDS: Record<FailureKind, string> = {
  product: "Product defects",
  infrastructure: "Infrastructure problems",
  harness: "Harness errors",
};

/** Node's codes for a connection that was refused, dropped, timed out or never resolved. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "ECONNABORTED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** rbd's stderr for an image or snapshot that is not in the pool: the cluster answered, and the object is missing. */
const MISSING = /\(2\) No such file or directory|error opening (image|pool)|image not found|snapshot not found/i;

const isProductDefect = (e: unknown): e is ProductDefect =>
  e instanceof ProductDefect || (e instanceof Error && e.name === "ProductDefect" && typeof (e as { site?: unknown }).site === "string");

/** The errors of a failure: it, its causes, and the errors an AggregateError gathers, outermost first. */
function* chain(e: unknown, depth = 0): Generator<Error> {
  if (!(e instanceof Error) || depth > 8) return;
  yield e;
  if (e instanceof AggregateError) for (const inner of e.errors) yield* chain(inner, depth + 1);
  yield* chain(e.cause, depth + 1);
}

/** A connection that failed below HTTP, by the error's code (Node's, on it or a cause), never by its words. */
const isNetworkFailure = (e: unknown): boolean => [...chain(e)].some((c) => NETWORK_CODES.has(String((c as { code?: unknown }).code)));

export function classifyFailure(e: unknown): FailureKind {
  if (isProductDefect(e)) return "product";
  if (e instanceof SiteUnreachableError || e instanceof InfrastructureError) return "infrastructure";
  if (e instanceof WaitError) {
    // NOTE: every poll answered (a poll that fails ends the wait as "poll"), so the cloud was there and its operation never finished.
    if (e.kind === "timeout" || e.kind === "terminal") return "product";
    return classifyFailure(e.cause);
  }
  if (e instanceof ResponseValidationError) return "harness";
  if (e instanceof ApiError) {
    // NOTE: 413 is OpenStack's over-quota (or over-limit) answer: the project's allowance, not the product, stopped the test.
    if (e.status === undefined || e.status >= 500 || e.status === 401 || e.status === 403 || e.status === 413) return "infrastructure";
    return "product";
  }
  if (e instanceof CephCommandError && MISSING.test(e.stderrTail)) return "product";
  if (e instanceof CephProbeError) return "infrastructure";
  if (e instanceof Error && e.name === "AssertionError") return "product";
  if (isNetworkFailure(e)) return "infrastructure";
  return "harness";
}

/** Errors step() began with `[site] title: `, by that site. */
const named = new WeakMap<Error, string>();

/** Records that the error's message now begins with `[site] `. */
export function nameSite(e: Error, site: string): void {
  named.set(e, site);
}

/**
 * The site an error's message begins with (`[site] `), from the error's own fields or the step that named it: never
 * read back from the text. Undefined for an error whose message names no site yet.
 */
export function namedSite(e: unknown): string | undefined {
  if (!(e instanceof Error)) return undefined;
  if (isProductDefect(e)) return e.site;
  if (e instanceof SiteUnreachableError) return e.reach.site;
  if (isNoCephAccess(e)) return e.site;
  return named.get(e);
}

/** The site an error is caused at, by its type: a Ceph that did not answer, a probe's site, a defect's site. */
function causalSite(e: Error): string | undefined {
  if (isProductDefect(e)) return e.site;
  if (e instanceof SiteUnreachableError) return e.reach.site;
  if (isNoCephAccess(e)) return e.site;
  if (e instanceof InfrastructureError) return e.site;
  if (e instanceof CephProbeError) return e.site;
  return undefined;
}

/** The object an error is about, by its type: a defect's object, what a wait waited for, the request, the Ceph command. */
function objectOf(e: Error): string | undefined {
  if (isProductDefect(e) || e instanceof InfrastructureError) return e.object;
  if (e instanceof WaitError) return e.what;
  if (e instanceof ApiError) return `${e.service} ${e.method} ${e.path}`;
  if (e instanceof CephProbeError) return e.command;
  return undefined;
}

/**
 * A failure's facts, from the typed fields along its causes: the site it is caused at (the deepest error that says,
 * else the site its step named, else the test's site), its category, and the first object an error names.
 */
export function failureCauseOf(e: unknown, site: string): FailureCause {
  let at: string | undefined;
  let object: string | undefined;
  for (const c of chain(e)) {
    at = causalSite(c) ?? at;
    object ??= objectOf(c);
  }
  return { site: at ?? namedSite(e) ?? site, category: classifyFailure(e), ...(object === undefined ? {} : { object }) };
}
