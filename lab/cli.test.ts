import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { PACKAGE_ROOT } from "../helpers/core/package-root.ts";
import { USAGE } from "./cli.ts";
import { MUTATIONS } from "./mutate.ts";
import { FAULT_KINDS } from "./state.ts";

describe("the lab's usage", () => {
  test("names every subcommand labCommand handles", () => {
    const source = readFileSync(join(PACKAGE_ROOT, "lab", "cli.ts"), "utf8");
    const subcommands = [...source.matchAll(/^\s*case "([a-z-]+)":/gm)].map((m) => m[1]!);
    expect(subcommands).toEqual(["up", "packages", "restart", "status", "down", "fault", "heal", "mutate"]);
    expect(subcommands.filter((s) => !USAGE.includes(`dcn-verify lab ${s}`))).toEqual([]);
  });

  test("names every mutation and every fault kind", () => {
    expect(MUTATIONS.filter((m) => !new RegExp(`\\b${m} <`).test(USAGE))).toEqual([]);
    expect(FAULT_KINDS.filter((k) => !USAGE.includes(k))).toEqual([]);
  });
});
