import { describe, expect, test } from "vitest";
import {
  byThisRun,
  CANARY_PROPERTY,
  GROUP_PROPERTY,
  madeByHarness,
  newRunId,
  ownedByRun,
  RUN_ID,
  RUN_PROPERTY,
  resourceName,
  runIdOf,
  siteOfName,
} from "./naming.ts";

describe("the run's names and marks", () => {
  const runId = "20261123t144905-116f";
  const name = resourceName("dcnv", runId, "dcn0", "volume-upload");

  test("a resource name carries the run id and the site, and reads back", () => {
    expect(name).toBe("dcnv-20261123t144905-116f-dcn0-volume-upload");
    expect(runIdOf(name, "dcnv")).toBe(runId);
    expect(siteOfName(name, "dcnv")).toBe("dcn0");
    expect(runIdOf(`snapshot for ${name}`, "dcnv")).toBe(runId);
    expect(RUN_ID.test(newRunId())).toBe(true);
  });

  test("a resource is the run's by its image property, its metadata or its name; another run's or an operator's is not", () => {
    expect(ownedByRun({ name: "foreign-edge-only", [RUN_PROPERTY]: runId }, runId, "dcnv")).toBe(true);
    expect(ownedByRun({ name: "renamed-by-hand", metadata: { [RUN_PROPERTY]: runId } }, runId, "dcnv")).toBe(true);
    expect(ownedByRun({ name }, runId, "dcnv")).toBe(true);
    expect(ownedByRun({ name: resourceName("dcnv", "20261120t101010-beef", "dcn0", "volume") }, runId, "dcnv")).toBe(false);
    expect(ownedByRun({ name: "foreign-full-copy", metadata: {} }, runId, "dcnv")).toBe(false);
    expect(ownedByRun({ name: null }, runId, "dcnv")).toBe(false);
  });

  test("another shard's resource is the group's by its group mark; without a group, or with another, it is foreign", () => {
    const other = "20261123t150000-abcd";
    const image = { name: resourceName("dcnv", other, "dcn1", "image"), [RUN_PROPERTY]: other, [GROUP_PROPERTY]: "pipeline-7" };
    const volume = { name: "renamed", metadata: { [RUN_PROPERTY]: other, [GROUP_PROPERTY]: "pipeline-7" } };
    for (const r of [image, volume]) {
      expect(byThisRun(madeByHarness(r, { runId, group: "pipeline-7" }, "dcnv"))).toBe(true);
      expect(byThisRun(madeByHarness(r, { runId, group: "pipeline-8" }, "dcnv"))).toBe(false);
      expect(byThisRun(madeByHarness(r, { runId }, "dcnv"))).toBe(false);
    }
    expect(byThisRun(madeByHarness({ name }, { runId }, "dcnv"))).toBe(true);
  });

  test("madeByHarness names the run or canary set behind any dcn-verify resource, and nothing behind the operator's", () => {
    const other = "20261123t150000-abcd";
    const setId = "canary-20261120t101010-beef";
    const run = { runId };
    // Another run's step-7 image between Cinder's upload and its mark: the harness name alone.
    expect(madeByHarness({ name: resourceName("dcnv", other, "dcn1", "volume-upload") }, run, "dcnv")).toBe(`dcn-verify run ${other}`);
    expect(madeByHarness({ name: "renamed", [RUN_PROPERTY]: other }, run, "dcnv")).toBe(`dcn-verify run ${other}`);
    expect(madeByHarness({ name: "renamed", metadata: { [RUN_PROPERTY]: other } }, run, "dcnv")).toBe(`dcn-verify run ${other}`);
    // A canary carries its plant run's mark too: the set names it.
    expect(
      madeByHarness(
        {
          name: resourceName("dcnv", "20261120t101010-beef", "dcn0", "canary-volume"),
          metadata: { [RUN_PROPERTY]: "20261120t101010-beef", [CANARY_PROPERTY]: setId },
        },
        run,
        "dcnv",
      ),
    ).toBe(`dcn-verify canary set ${setId}`);
    expect(madeByHarness({ name: "x", [CANARY_PROPERTY]: setId }, run, "dcnv")).toBe(`dcn-verify canary set ${setId}`);
    expect(madeByHarness({ name: "x", metadata: { [GROUP_PROPERTY]: "pipeline-7" } }, run, "dcnv")).toBe("dcn-verify run group pipeline-7");
    // This run's own, and its group's, are told apart from the others'.
    expect(madeByHarness({ name }, run, "dcnv")).toBe("this run");
    expect(madeByHarness({ name: "x", [GROUP_PROPERTY]: "pipeline-7" }, { runId, group: "pipeline-7" }, "dcnv")).toBe(
      "this run's group pipeline-7",
    );
    expect(byThisRun("this run")).toBe(true);
    expect(byThisRun("this run's group pipeline-7")).toBe(true);
    expect(byThisRun(`dcn-verify run ${other}`)).toBe(false);
    // The operator's: no mark, a mark not of the harness's form, a name with another prefix or no run id.
    for (const r of [
      { name: "foreign-edge-only" },
      { name: "ops-image", [RUN_PROPERTY]: "yes" },
      { name: "ops-volume", metadata: { [CANARY_PROPERTY]: "mine" } },
      { name: resourceName("other", other, "dcn0", "image") },
      { name: "dcnv-golden-image" },
      { name: null },
    ])
      expect(madeByHarness(r, run, "dcnv"), JSON.stringify(r)).toBeUndefined();
  });
});
