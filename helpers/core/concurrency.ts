/** Waits for every promise to settle, then rejects with the first rejection, if any: nothing is left running. */
export async function settleAll<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

/** A gate that lets at most limit calls run at once; the rest wait their turn, first come, first served. */
export function limiter(limit: number): <R>(fn: () => Promise<R>) => Promise<R> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limiter: limit must be a whole number of at least 1, got ${limit}`);
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    if (running >= limit) await new Promise<void>((go) => waiting.push(go));
    else running++;
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}
