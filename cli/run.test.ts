import { describe, expect, test } from "vitest";
import { workersFor } from "../helpers/harness/run.ts";
import { parseMaxParallel } from "./run.ts";

describe("run --max-parallel", () => {
  const plan = [{ files: ["a", "b", "c"] }, { files: ["d", "e", "f"] }, { files: ["g", "h", "i"] }];

  test("every suite file of every site gets a worker, unless --max-parallel says fewer", () => {
    expect(workersFor(plan)).toBe(9);
    expect(workersFor(plan, 4)).toBe(4);
    expect(workersFor(plan, 40)).toBe(9);
    expect(workersFor([])).toBe(1);
  });

  test("--max-parallel takes a whole number of 1 or more, and names itself otherwise", () => {
    expect(parseMaxParallel(undefined)).toBeUndefined();
    expect(parseMaxParallel("3")).toBe(3);
    for (const bad of ["0", "-1", "2.5", "x", ""])
      expect(() => parseMaxParallel(bad)).toThrow(`--max-parallel: '${bad}' is not a whole number of 1 or more`);
  });
});
