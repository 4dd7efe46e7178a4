import { describe, expect, test } from "vitest";
import { limiter, settleAll } from "./concurrency.ts";

const tick = () => new Promise((r) => setTimeout(r, 5));

describe("limiter", () => {
  test("never has more than limit calls in flight, and starts the waiting ones first come, first served", async () => {
    const gate = limiter(2);
    let inFlight = 0;
    let most = 0;
    const started: number[] = [];
    const out = await Promise.all(
      [5, 1, 4, 2, 3].map((n) =>
        gate(async () => {
          started.push(n);
          most = Math.max(most, ++inFlight);
          await new Promise((r) => setTimeout(r, n * 3));
          inFlight--;
          return n * 10;
        }),
      ),
    );
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(most).toBe(2);
    expect(started).toEqual([5, 1, 4, 2, 3]);
  });

  test("a limit of 1 runs one after another, and a failure frees its place", async () => {
    const gate = limiter(1);
    const order: string[] = [];
    const run = (x: string, fail = false) =>
      gate(async () => {
        order.push(`start ${x}`);
        await tick();
        order.push(`end ${x}`);
        if (fail) throw new Error(`${x} broke`);
      });
    const [a, b] = await Promise.allSettled([run("a", true), run("b")]);
    expect(a).toMatchObject({ status: "rejected", reason: new Error("a broke") });
    expect(b.status).toBe("fulfilled");
    expect(order).toEqual(["start a", "end a", "start b", "end b"]);
  });

  test("refuses a limit below 1", () => {
    expect(() => limiter(0)).toThrow(/limit must be a whole number of at least 1, got 0/);
  });

  test("settleAll returns the values in order, or the first rejection once every promise has settled", async () => {
    expect(await settleAll([Promise.resolve(1), tick().then(() => 2)])).toEqual([1, 2]);
    let late = false;
    await expect(settleAll([Promise.reject(new Error("first")), tick().then(() => (late = true))])).rejects.toThrow("first");
    expect(late).toBe(true);
  });
});
