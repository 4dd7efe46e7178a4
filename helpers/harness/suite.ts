import type { TestContext } from "vitest";
import { CephProbeError } from "../ceph/probe.ts";
import type { KnownIssue } from "../config/schema.ts";
import type { CatalogEntry, SuiteCatalog, TestDeclaration } from "./catalog.ts";
import type { SiteContext } from "./context.ts";
import { covers } from "./gates.ts";
import { classifyFailure, InfrastructureError } from "./failure-kind.ts";
import type { RunInfo, SiteRole } from "./model.ts";
import { SiteUnreachableError, type Unreachable } from "./reach.ts";
import { attachText } from "./steps.ts";

/** The known issue of the config that covers this failure of this test at this site today, if any. */
export function activeKnownIssue(
  issues: KnownIssue[],
  site: string,
  failure: { id: string; failure: string; failureKind: string },
  today = new Date(),
): KnownIssue | undefined {
  const day = today.toISOString().slice(0, 10);
  return issues.find((k) => k.expires >= day && covers(k, site, failure));
}

/**
 * A failure caused by a site whose Ceph cannot be read is that site's unreachability, not a defect of the cloud:
 * reported as infrastructure, naming the site. The cause is found by type along the error's causes (a
 * SiteUnreachableError, or a probe error of that site's own probe), never in the words of the message.
 */
export function blameUnreachable(e: unknown, ctx: Pick<SiteContext, "unreachable"> | undefined): unknown {
  if (!ctx || e instanceof SiteUnreachableError || classifyFailure(e) === "infrastructure") return e;
  const why = unreachableCause(e, ctx);
  if (!why) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new InfrastructureError(`${message}\n(caused by an unreachable site, ${why.site}: ${why.reason})`, { cause: e });
}

/** The unreachable site behind a failure, from its chain of causes. */
function unreachableCause(e: unknown, ctx: Pick<SiteContext, "unreachable">): Unreachable | undefined {
  for (let c: unknown = e, depth = 0; c instanceof Error && depth < 8; c = c.cause, depth++) {
    if (c instanceof SiteUnreachableError) return c.reach;
    if (!(c instanceof CephProbeError)) continue;
    const down = ctx.unreachable(c.site);
    // NOTE: an object missing on a reached cluster is that cluster's answer; on another cluster than the site's, it is not.
    if (down && (classifyFailure(c) !== "product" || down.state === "wrong-cluster")) return down;
  }
  return undefined;
}

/** Skips the running test with its reason, in the report as well as in the summary. */
export async function skipTest(t: TestContext, reason: string): Promise<void> {
  await attachText("skipped", reason);
  (t.task.meta.notVerified ??= []).push(reason);
  t.skip(reason);
}

export interface SiteSuite {
  site: string;
  role: SiteRole;
  run: RunInfo;
  /** The site's context, open while the suite's tests run. */
  ctx(): SiteContext;
  /** A block of the suite's tests, run one after another (vitest's describe.sequential). */
  describe(title: string, body: () => void): void;
  /**
   * Declares one test: the declaration is its catalog entry (where it runs, its tier, what it builds on...); a test
   * that does not run at this site's role is not declared.
   */
  test(declaration: TestDeclaration, body: (t: TestContext) => Promise<void>): void;
  /** Hands a thing this test's declaration provides to the later tests that need it. */
  give<T>(product: string, value: T): void;
  /** A thing an earlier test gave; the test is skipped before its body when it is missing. */
  take<T>(product: string): T;
  /** A thing an earlier test may have given (one the site's config can rule out), or undefined. */
  maybe<T>(product: string): T | undefined;
}

/** A suite file's tests, declared for one site. */
export type SuiteDefinition = (s: SiteSuite) => void;

/** A suite file: its group, its tests' declarations (read without running them) and its definition at a site. */
export interface Suite extends SuiteCatalog {
  define: SuiteDefinition;
}

/**
 * A suite file's tests. The declarations are read by running the definition once with no site: its describe blocks
 * and test declarations are recorded, no body runs, and vitest is not called.
 */
export function defineSuite(group: Suite["group"], define: SuiteDefinition): Suite {
  const tests: CatalogEntry[] = [];
  const onlyInBody = (what: string) => () => {
    throw new Error(`suite ${group}: ${what} is read only in a test's body`);
  };
  const run = new Proxy({} as RunInfo, { get: (_, k) => onlyInBody(`run.${String(k)}`)() });
  define({
    site: "<site>",
    role: "edge",
    run,
    ctx: onlyInBody("ctx()"),
    describe: (_title, body) => body(),
    test: ({ title: _title, creates, ...declaration }) => {
      tests.push({ ...declaration, group, creates: creates ?? [] });
    },
    give: onlyInBody("give()"),
    take: onlyInBody("take()"),
    maybe: onlyInBody("maybe()"),
  });
  return { group, tests, define };
}
