import { CephProbeError } from "../ceph/probe.ts";
import { ApiError, ResponseValidationError } from "../core/http.ts";
import { WaitError } from "../core/wait.ts";
import type { FailureKind } from "./model.ts";

export type { FailureKind } from "./model.ts";

/** A check about the cloud failed: the message names the site and what was wrong. */
export class ProductDefect extends Error {
  constructor(site: string, message: string) {
    super(`[${site}] ${message}`);
    this.name = "ProductDefect";
  }
}

export const FAILURE_KINDS: Record<FailureKind, string> = {
  product: "Product defects",
  infrastructure: "Infrastructure problems",
  harness: "Harness errors",
};

const NETWORK = /\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ECONNABORTED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|socket hang up)\b/;

export function classifyFailure(e: unknown): FailureKind {
  if (e instanceof ProductDefect || (e instanceof Error && e.name === "ProductDefect")) return "product";
  if (e instanceof WaitError) {
    if (e.kind === "timeout") return "infrastructure";
    if (e.kind === "terminal") return "product";
    return classifyFailure(e.cause);
  }
  if (e instanceof ResponseValidationError) return "harness";
  if (e instanceof ApiError) {
    if (e.status === undefined || e.status >= 500 || e.status === 401 || e.status === 403) return "infrastructure";
    return "product";
  }
  if (e instanceof CephProbeError) return "infrastructure";
  if (e instanceof Error && e.name === "AssertionError") return "product";
  if (e instanceof Error && NETWORK.test(e.message)) return "infrastructure";
  return "harness";
}
