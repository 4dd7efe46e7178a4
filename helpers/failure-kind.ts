import { CephProbeError } from "./ceph/probe.ts";
import { ProductDefect } from "./dcn.ts";
import { ApiError, ResponseValidationError } from "./http.ts";
import { WaitError } from "./waiters.ts";

/**
 * Why a test failed, for the reports' categories:
 * - product: a check about the cloud failed (a defect, a refusal, a resource in an error state);
 * - infrastructure: the cloud or Ceph could not be reached or did not answer in time (timeouts, 5xx, network, probe);
 * - harness: anything else, a bug in dcn-verify or an answer it does not understand.
 */
export type FailureKind = "product" | "infrastructure" | "harness";

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
