import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, test } from "vitest";
import { cloudCall, IntervalUnion, listenCloudWait, withinSite } from "./cloud-wait.ts";
import { HttpClient } from "./http.ts";
import { waitFor } from "./wait.ts";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Intervals [start, end] opened and closed in time order on a fake clock: the union's length. */
function unionOf(intervals: [number, number][]): number {
  let t = 0;
  const u = new IntervalUnion(() => t);
  const events = intervals.flatMap(([a, b], i) => [
    { at: a, i, open: true },
    { at: b, i, open: false },
  ]);
  events.sort((x, y) => x.at - y.at || Number(x.open) - Number(y.open));
  const ends = new Map<number, () => void>();
  for (const e of events) {
    t = e.at;
    if (e.open) ends.set(e.i, u.begin());
    else ends.get(e.i)!();
  }
  return u.ms;
}

describe("IntervalUnion", () => {
  test("counts overlapping and nested intervals once, and the gaps between disjoint ones not at all", () => {
    expect(unionOf([])).toBe(0);
    expect(
      unionOf([
        [0, 10],
        [20, 25],
      ]),
    ).toBe(15);
    expect(
      unionOf([
        [0, 10],
        [5, 15],
      ]),
    ).toBe(15);
    expect(
      unionOf([
        [0, 20],
        [5, 10],
        [8, 12],
      ]),
    ).toBe(20);
    expect(
      unionOf([
        [0, 10],
        [10, 20],
        [30, 40],
        [35, 50],
        [45, 46],
      ]),
    ).toBe(40);
  });

  test("an open interval counts up to now; closing one twice changes nothing", () => {
    let t = 0;
    const u = new IntervalUnion(() => t);
    const a = u.begin();
    t = 5;
    const b = u.begin();
    t = 8;
    a();
    a();
    expect(u.ms).toBe(8);
    t = 12;
    expect(u.ms).toBe(12);
    b();
    t = 30;
    expect(u.ms).toBe(12);
  });
});

describe("a site's cloud wait", () => {
  test("each site's scope counts its own calls and waits, overlaps once, and the run hears each total", async () => {
    const run = listenCloudWait();
    const id = `${Date.now()}`;
    await Promise.all([
      withinSite(`one-${id}`, async () => {
        await cloudCall(() => sleep(40));
        await Promise.all([cloudCall(() => sleep(40)), cloudCall(() => sleep(40))]);
        await sleep(60);
      }),
      withinSite(`two-${id}`, async () => {
        await waitFor({
          what: "a thing",
          expected: "ready",
          timeoutS: 5,
          intervalS: 0.02,
          poll: async () => Date.now(),
          done: (() => {
            let n = 0;
            return () => ++n >= 3;
          })(),
        });
      }),
      withinSite(`idle-${id}`, () => sleep(10)),
    ]);
    await cloudCall(() => sleep(20));
    await sleep(20);
    const sites = [{ site: `one-${id}` }, { site: `two-${id}` }, { site: `idle-${id}` }, { site: `none-${id}` }] as {
      site: string;
      cloudWaitMs?: number;
    }[];
    run.record(sites);
    const [one, two, idle, none] = sites;
    expect(one!.cloudWaitMs).toBeGreaterThanOrEqual(75);
    expect(one!.cloudWaitMs).toBeLessThan(140);
    expect(two!.cloudWaitMs).toBeGreaterThanOrEqual(35);
    expect(idle!.cloudWaitMs).toBe(0);
    expect(none!.cloudWaitMs).toBeUndefined();
  });

  test("an HTTP request counts until its streamed body has been read", async () => {
    const server = createServer((req, res) => {
      if (req.url === "/slow") setTimeout(() => res.end("{}"), 50);
      else {
        res.write("a");
        setTimeout(() => res.end("b"), 50);
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const http = new HttpClient({
      service: "test",
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      timeoutMs: 5000,
    });
    const run = listenCloudWait();
    const site = `http-${Date.now()}`;
    try {
      await withinSite(site, async () => {
        await http.request("GET", "/slow", { expect: 200 });
        const r = await http.request("GET", "/stream", { expect: 200, responseType: "stream" });
        for await (const _ of r.data as AsyncIterable<unknown>) void _;
        await new Promise((done) => setImmediate(done));
      });
      await sleep(20);
      const sites: { site: string; cloudWaitMs?: number }[] = [{ site }];
      run.record(sites);
      expect(sites[0]!.cloudWaitMs).toBeGreaterThanOrEqual(95);
    } finally {
      server.close();
    }
  });
});
