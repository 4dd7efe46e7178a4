import { describe, expect, test } from "vitest";
import { mapLimit, settleAll } from "./concurrency.ts";

const tick = () => new Promise((r) => setTimeout(r, 5));

describe("mapLimit", () => {
  test("keeps the items' order and never has more than limit calls in flight", async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async (n) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, n * 3));
      inFlight--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(most).toBe(2);
  });

  test("a limit of 1 runs one after another", async () => {
    const order: string[] = [];
    await mapLimit(["a", "b"], 1, async (x) => {
      order.push(`start ${x}`);
      await tick();
      order.push(`end ${x}`);
    });
    expect(order).toEqual(["start a", "end a", "start b", "end b"]);
  });

  test("a failure rejects, after the calls in flight have settled", async () => {
    const done: number[] = [];
    await expect(
      mapLimit([1, 2, 3], 3, async (n) => {
        await tick();
        if (n === 2) throw new Error("two broke");
        done.push(n);
      }),
    ).rejects.toThrow("two broke");
    expect(done.sort()).toEqual([1, 3]);
  });

  test("refuses a limit below 1", async () => {
    await expect(mapLimit([1], 0, async (n) => n)).rejects.toThrow(/limit must be a whole number of at least 1, got 0/);
  });

  test("settleAll returns the values in order, or the first rejection once every promise has settled", async () => {
    expect(await settleAll([Promise.resolve(1), tick().then(() => 2)])).toEqual([1, 2]);
    let late = false;
    await expect(settleAll([Promise.reject(new Error("first")), tick().then(() => (late = true))])).rejects.toThrow("first");
    expect(late).toBe(true);
  });
});
