import { CephCommandError, CephProbeError } from "../ceph/probe.ts";
import { ApiError, ResponseValidationError } from "../core/http.ts";
import { WaitError } from "../core/wait.ts";
import type { FailureKind } from "./model.ts";
import { SiteUnreachableError } from "./reach.ts";

export type { FailureKind } from "./model.ts";

/** A check about the cloud failed: the message names the site and what was wrong. */
export class ProductDefect extends Error {
  constructor(site: string, message: string) {
    super(`[${site}] ${message}`);
    this.name = "ProductDefect";
  }
}

/** The cloud or its Ceph could not be reached: the message names the site and what did not answer. */
export class InfrastructureError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InfrastructureError";
  }
}

export const FAILURE_KINDS: Record<FailureKind, string> = {
  product: "Product defects",
  infrastructure: "Infrastructure problems",
  harness: "Harness errors",
};

const NETWORK = /\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ECONNABORTED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|socket hang up)\b/;

/** rbd's answer for an image or snapshot that is not in the pool: the cluster answered, and the object is missing. */
const MISSING = /\(2\) No such file or directory|error opening (image|pool)|image not found|snapshot not found/i;

export function classifyFailure(e: unknown): FailureKind {
  if (e instanceof ProductDefect || (e instanceof Error && e.name === "ProductDefect")) return "product";
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
  if (e instanceof Error && NETWORK.test(e.message)) return "infrastructure";
  return "harness";
}
