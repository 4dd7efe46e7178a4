import type { Digest } from "../core/digest.ts";

/**
 * Where a copy's content differs from the bytes the harness made: one line per place, naming it and both hashes.
 * The expected digest comes from the harness's own bytes, never from what the cloud reports.
 */
export function contentMismatches(expected: Digest, got: Record<string, Digest>): string[] {
  return Object.entries(got)
    .filter(([, d]) => d.sha512 !== expected.sha512 || d.bytes !== expected.bytes)
    .map(([where, d]) => `on ${where}: sha512 ${d.sha512} (${d.bytes} bytes), expected ${expected.sha512} (${expected.bytes} bytes)`);
}
