import { describe, expect, test } from "vitest";
import {
  GROUP_PROPERTY,
  newRunId,
  ownedByRun,
  ownedByRunOrGroup,
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
      expect(ownedByRunOrGroup(r, { runId, group: "pipeline-7" }, "dcnv")).toBe(true);
      expect(ownedByRunOrGroup(r, { runId, group: "pipeline-8" }, "dcnv")).toBe(false);
      expect(ownedByRunOrGroup(r, { runId }, "dcnv")).toBe(false);
    }
    expect(ownedByRunOrGroup({ name }, { runId }, "dcnv")).toBe(true);
  });
});
