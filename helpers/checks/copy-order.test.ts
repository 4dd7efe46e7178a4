import { describe, expect, test } from "vitest";
import type { Task } from "../clients/image.ts";
import { judgeCopyOrder } from "./copy-order.ts";

const copy = (id: string, createdAt: string, stores: string[], status = "success"): Task =>
  ({ id, status, created_at: createdAt, input: { import_req: { method: { name: "copy-image" } }, backend: stores } }) as Task;
const o = { edge: "dcn0", central: "central", otherEdges: new Set(["dcn1", "dcn2"]) };

describe("judgeCopyOrder", () => {
  test("central in an earlier second than another edge is central-first", () => {
    const v = judgeCopyOrder(
      ["dcn0", "central", "dcn1"],
      [copy("b", "2026-11-23T10:00:05.000000", ["dcn1"]), copy("a", "2026-11-23T10:00:04.000000", ["central"])],
      o,
    );
    expect(v).toEqual({ kind: "central-first", order: ["dcn0", "central", "dcn1"] });
  });

  test("another edge in an earlier second is edge-first, with the order", () => {
    const v = judgeCopyOrder(
      ["dcn0", "central", "dcn1"],
      [copy("a", "2026-11-23T10:00:04.000000", ["dcn1"]), copy("b", "2026-11-23T10:00:05.000000", ["central"])],
      o,
    );
    expect(v).toEqual({ kind: "edge-first", order: ["dcn0", "dcn1", "central"] });
  });

  test("two tasks in the same second cannot be ordered: unknown, naming both tasks", () => {
    const v = judgeCopyOrder(
      ["dcn0", "central", "dcn1"],
      [copy("a", "2026-11-23T10:00:04.000000", ["dcn1"]), copy("b", "2026-11-23T10:00:04.000000", ["central"])],
      o,
    );
    expect(v.kind).toBe("unknown");
    expect(v.kind === "unknown" && v.reason).toMatch(/task b\).*task a\).*both created at 2026-11-23T10:00:04.000000.*to the second/);
  });

  test("one task copies its stores in the order it lists them", () => {
    expect(judgeCopyOrder(["dcn0", "central", "dcn1"], [copy("a", "2026-11-23T10:00:04.000000", ["dcn1", "central"])], o).kind).toBe(
      "edge-first",
    );
    expect(judgeCopyOrder(["dcn0", "central", "dcn1"], [copy("a", "2026-11-23T10:00:04.000000", ["central", "dcn1"])], o).kind).toBe(
      "central-first",
    );
  });

  test("an edge copy with no copy to central is edge-first; failed tasks do not count", () => {
    expect(judgeCopyOrder(["dcn0", "dcn1"], [copy("a", "2026-11-23T10:00:04.000000", ["dcn1"])], o).kind).toBe("edge-first");
    expect(
      judgeCopyOrder(
        ["dcn0", "central"],
        [copy("x", "2026-11-23T10:00:03.000000", ["dcn1"], "failure"), copy("a", "2026-11-23T10:00:04.000000", ["central"])],
        o,
      ).kind,
    ).toBe("central-first");
  });

  test("an image uploaded at central, or to several stores at once, is not an edge upload", () => {
    expect(judgeCopyOrder(["central", "dcn0"], [copy("a", "2026-11-23T10:00:04.000000", ["dcn0"])], o)).toEqual({
      kind: "not-an-edge-upload",
      origin: ["central"],
    });
    const webDownload = {
      id: "w",
      status: "success",
      created_at: "2026-11-23T10:00:04.000000",
      input: { import_req: { method: { name: "web-download" } }, backend: ["central", "dcn0"] },
    } as Task;
    expect(judgeCopyOrder(["central", "dcn0"], [webDownload], o).kind).toBe("not-an-edge-upload");
  });

  test("no task history for an image in several stores is unknown", () => {
    const v = judgeCopyOrder(["dcn0", "central"], [], o);
    expect(v.kind).toBe("unknown");
    expect(v.kind === "unknown" && v.reason).toMatch(/task_time_to_live/);
  });

  test("copy tasks partly expired: stores no listed task accounts for make it unknown, not a pass or an upload elsewhere", () => {
    // Uploaded at dcn0, copied to dcn1 (task expired), then to central (task listed): the dcn1 copy left no trace.
    const v = judgeCopyOrder(["dcn0", "central", "dcn1"], [copy("a", "2026-11-23T10:00:04.000000", ["central"])], o);
    expect(v.kind).toBe("unknown");
    expect(v.kind === "unknown" && v.reason).toMatch(/no task that put it in dcn0 and dcn1 .*task_time_to_live/);
    // Uploaded at dcn0, copied to central (task expired), then to dcn1 (task listed): not "uploaded at central and dcn0".
    expect(judgeCopyOrder(["dcn0", "central", "dcn1"], [copy("b", "2026-11-23T10:00:05.000000", ["dcn1"])], o).kind).toBe("unknown");
  });

  test("an image only in the edge store, with no task, is an edge upload never copied: nothing to order", () => {
    expect(judgeCopyOrder(["dcn0"], [], o)).toEqual({ kind: "central-first", order: ["dcn0"] });
  });
});
