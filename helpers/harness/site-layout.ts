import { afterAll, beforeAll, describe } from "vitest";
import { limiter } from "../core/concurrency.ts";

/**
 * Lays the run's sites out in the one worker: a concurrent describe per site, at most sitesAtOnce of them running (in
 * the plan's order, central first), and in each a concurrent describe per suite file. A file builds only on its own
 * tests (needs and provides), so the files of a site overlap: its conformance and rules run while its procedure waits
 * on the cloud. Each file declares its tests with test.sequential: they run one after another.
 */
export function layOutSites<G extends string>(
  plan: readonly { site: string; groups: readonly G[] }[],
  sitesAtOnce: number,
  defineGroup: (site: string, group: G) => void,
): void {
  const gate = limiter(sitesAtOnce);
  for (const { site, groups } of plan)
    describe(site, { concurrent: true }, () => {
      let leave: (() => void) | undefined;
      // NOTE: no timeout of its own: it waits for the sites before it, whose every wait is bounded.
      beforeAll(
        () =>
          new Promise<void>((entered) => {
            void gate(
              () =>
                new Promise<void>((left) => {
                  leave = left;
                  entered();
                }),
            );
          }),
        0,
      );
      afterAll(() => leave?.());
      for (const group of groups) describe(group, { concurrent: true }, () => defineGroup(site, group));
    });
}
