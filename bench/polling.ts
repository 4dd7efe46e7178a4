// How long after a state change the harness's waiter notices it, against a 2-second watch loop.
// A local HTTP server plays the resource: each trial's resource flips state at a random moment.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import axios from "axios";
import { timeoutsSchema } from "../helpers/config/schema.ts";
import { importTiming, timing } from "../helpers/config/timing.ts";
import { type WaitTiming, waitFor } from "../helpers/core/wait.ts";

export interface PollingFigures {
  trials: number;
  harness: { medianS: number; p95S: number };
  harnessImport: { medianS: number; p95S: number };
  watch2s: { medianS: number; p95S: number };
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

export async function measurePolling(trials = 40, cliSeconds = 0): Promise<PollingFigures> {
  const flips = new Map<string, number>();
  const server = createServer((req, res) => {
    const at = flips.get(req.url ?? "") ?? Infinity;
    res
      .writeHead(200, { "Content-Type": "application/json" })
      .end(JSON.stringify({ status: performance.now() >= at ? "active" : "saving" }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const http = axios.create({ proxy: false });
  const t = timeoutsSchema.parse({});
  const one = async (name: string, i: number, timingOpts: WaitTiming): Promise<number> => {
    const path = `/${name}/${i}`;
    const flipAt = performance.now() + 500 + Math.random() * 7500;
    flips.set(path, flipAt);
    await waitFor({
      ...timingOpts,
      what: path,
      expected: "active",
      poll: async () => (await http.get(path, { baseURL: base })).data as { status: string },
      done: (v) => v.status === "active",
    });
    return (performance.now() - flipAt) / 1000;
  };
  const run = async (name: string, timingOpts: WaitTiming) =>
    Promise.all(Array.from({ length: trials }, (_, i) => one(name, i, timingOpts)));
  try {
    const [harness, harnessImport, watch] = await Promise.all([
      run("harness", timing(t, "imageActive")),
      run("import", importTiming(t, "copyImage")),
      // `watch -n 2 openstack ...` sleeps 2 s after each CLI call: one poll per 2 s plus a CLI start-up.
      run("watch", { timeoutS: 60, intervalS: 2 + cliSeconds }),
    ]);
    const fig = (xs: number[], extra = 0) => ({
      medianS: +(quantile(xs, 0.5) + extra).toFixed(2),
      p95S: +(quantile(xs, 0.95) + extra).toFixed(2),
    });
    // NOTE: the manual loop runs a CLI per poll: it sees the state one CLI start-up after the poll began.
    return { trials, harness: fig(harness), harnessImport: fig(harnessImport), watch2s: fig(watch, cliSeconds) };
  } finally {
    server.close();
  }
}
