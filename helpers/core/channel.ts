import { BroadcastChannel } from "node:worker_threads";

/**
 * A named channel to every thread of the process: the sites' worker thread sends, the run's main thread listens.
 * Messages are structured records, checked by parse (undefined: not one, left out). Neither end keeps the process
 * alive.
 */
export function processChannel<T>(name: string, parse: (data: unknown) => T | undefined) {
  let outbox: BroadcastChannel | undefined;
  return {
    send(message: T): void {
      if (!outbox) {
        outbox = new BroadcastChannel(name);
        outbox.unref();
      }
      outbox.postMessage(message);
    },
    /** Calls on with each record sent from now on; close() stops listening. */
    listen(on: (message: T) => void): { close(): void } {
      const channel = new BroadcastChannel(name);
      channel.unref();
      channel.onmessage = (e) => {
        const message = parse((e as MessageEvent).data);
        if (message !== undefined) on(message);
      };
      return { close: () => channel.close() };
    },
  };
}
