import { describe, expect, test } from "vitest";
import { CephCommandError } from "../ceph/probe.ts";
import { NoCephAccessError } from "../ceph/transports/none.ts";
import { ApiError } from "../core/http.ts";
import { failureCauseOf, InfrastructureError, namedSite, ProductDefect } from "./failure-kind.ts";
import type { FailureCause } from "./model.ts";
import { listenProgress, type ProgressEvent } from "./progress.ts";
import { type Unreachable, SiteUnreachableError } from "./reach.ts";
import { inSiteScope, step, type TestFacts } from "./steps.ts";

const DOWN: Unreachable = { site: "dcn1", state: "unreachable", reason: "its Ceph cluster dcn1 did not answer", ms: 5 };

/** The progress events step() sent while body ran. */
async function eventsOf(body: () => Promise<unknown>) {
  const events: ProgressEvent[] = [];
  const listening = listenProgress((e) => events.push(e));
  try {
    await body().catch(() => undefined);
    await new Promise((done) => setTimeout(done, 20));
    return events;
  } finally {
    listening.close();
  }
}

describe("a failure's cause as fields", () => {
  test("a defect carries its site, category and object; its message keeps [site]", () => {
    const e = new ProductDefect("dcn0", "image 5d1c… is not in dcn0", "image 5d1c…");
    expect(e.message).toBe("[dcn0] image 5d1c… is not in dcn0");
    expect(failureCauseOf(e, "central")).toEqual({ site: "dcn0", category: "product", object: "image 5d1c…" });
  });

  test("a failure blamed on an unreachable site is that site's, found along its causes, whatever the message says", () => {
    const probe = new CephCommandError("dcn1", "ssh", "rbd --cluster dcn1 ls", 1, "monclient: timed out");
    const blamed = new InfrastructureError("[dcn0] copy the image: it failed at dcn0", { cause: new Error("x", { cause: probe }) });
    expect(failureCauseOf(blamed, "dcn0")).toEqual({ site: "dcn1", category: "infrastructure", object: "rbd --cluster dcn1 ls" });
    const unreachable = new Error("at dcn0", { cause: new SiteUnreachableError(DOWN, "copy-image") });
    expect(failureCauseOf(unreachable, "dcn0").site).toBe("dcn1");
  });

  test("an API error names the request; an error without typed fields is the test's site's", () => {
    const api = new ApiError({ service: "glance", method: "GET", url: "http://g/v2/images/abc", status: 404 });
    expect(failureCauseOf(api, "dcn0")).toEqual({ site: "dcn0", category: "product", object: "glance GET /v2/images/abc" });
    expect(failureCauseOf(new TypeError("x is undefined"), "central")).toEqual({ site: "central", category: "harness" });
  });

  test("a network failure is known by Node's code, not by the words of a message", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 10.0.0.1:443"), { code: "ECONNREFUSED" });
    expect(failureCauseOf(new Error("the image's data did not arrive", { cause: refused }), "dcn0").category).toBe("infrastructure");
    expect(failureCauseOf(new Error("the operator wrote ECONNREFUSED in a title"), "dcn0").category).toBe("harness");
  });
});

describe("step() names the site of a failure once, as a field", () => {
  test("an error that names no site is begun with [site] title, and says so in a field; the progress event is typed", async () => {
    let thrown: unknown;
    const events = await eventsOf(() =>
      inSiteScope("dcn0", undefined, () =>
        step("copy-image to dcn0", async () => {
          throw new Error("[not a site] a message that happens to begin with a bracket");
        }),
      ).catch((e: unknown) => {
        thrown = e;
        throw e;
      }),
    );
    expect((thrown as Error).message).toBe("[dcn0] copy-image to dcn0: [not a site] a message that happens to begin with a bracket");
    expect(namedSite(thrown)).toBe("dcn0");
    expect(events.map((e) => [e.site, e.kind])).toEqual([
      ["dcn0", "start"],
      ["dcn0", "fail"],
    ]);
    expect(events[1]).toMatchObject({ title: "copy-image to dcn0", error: (thrown as Error).message });
  });

  test("errors that name their site by type keep their message through nested steps", async () => {
    for (const e of [
      new ProductDefect("dcn0", "the volume is a full copy"),
      new SiteUnreachableError(DOWN),
      new NoCephAccessError("dcn1", "external"),
    ]) {
      const message = e.message;
      await inSiteScope("dcn0", undefined, () =>
        step("outer", () =>
          step("inner", async () => {
            throw e;
          }),
        ),
      ).catch(() => undefined);
      expect(e.message).toBe(message);
    }
    const plain = new Error("409 conflict");
    await inSiteScope("dcn0", undefined, () =>
      step("outer", () =>
        step("inner", async () => {
          throw plain;
        }),
      ),
    ).catch(() => undefined);
    expect(plain.message).toBe("[dcn0] inner: 409 conflict");
  });

  test("the body's failure is recorded once in the test's facts; a skip is not a failure", async () => {
    const facts: TestFacts = {};
    await inSiteScope("dcn0", facts, async () => {
      throw new ProductDefect("dcn0", "rule 1", "image i1");
    }).catch(() => undefined);
    expect(facts.failure).toEqual({ site: "dcn0", category: "product", object: "image i1" } satisfies FailureCause);
    const skipped: TestFacts = {};
    await inSiteScope("dcn0", skipped, async () => {
      throw Object.assign(new Error("skipped"), { code: "VITEST_PENDING" });
    }).catch(() => undefined);
    expect(skipped.failure).toBeUndefined();
  });
});
