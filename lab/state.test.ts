import { describe, expect, it } from "vitest";
import { password } from "./state.js";

describe("lab passwords", () => {
  it("are hex, so no command line reads one as an option or a URL as its delimiter", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const p = password();
      expect(p).toMatch(/^[0-9a-f]{36}$/);
      seen.add(p);
    }
    expect(seen.size).toBe(2000);
  });
});
