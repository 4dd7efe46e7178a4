import { describe, expect, test } from "vitest";
import { notOursReasons } from "./leftovers.ts";

const RUN = "20261120t101010-beef";
const o = { prefix: "dcnv", sites: ["central", "dcn0", "dcn1"], journaled: false };
const marked = { shown: true, value: RUN } as const;

describe("cleanup's proof of ownership", () => {
  test("the run id in the name, a configured site and the same run id in the mark: ours", () => {
    expect(notOursReasons({ name: `dcnv-${RUN}-dcn0-volume`, mark: marked }, RUN, o)).toEqual([]);
    expect(notOursReasons({ name: `snapshot for dcnv-${RUN}-dcn0-server-image`, mark: marked }, RUN, o)).toEqual([]);
  });

  test("a look-alike of an unconfigured site without the mark is not ours, for both reasons", () => {
    expect(notOursReasons({ name: `dcnv-${RUN}-prod-data`, mark: { shown: true, value: undefined } }, RUN, o)).toEqual([
      "site 'prod' is not configured",
      "no dcn_verify_run mark",
    ]);
  });

  test("a configured site's name without the mark, or with another run's mark, is not ours", () => {
    expect(notOursReasons({ name: `dcnv-${RUN}-dcn0-volume`, mark: { shown: true, value: undefined } }, RUN, o)).toEqual([
      "no dcn_verify_run mark",
    ]);
    expect(notOursReasons({ name: `dcnv-${RUN}-dcn0-volume`, mark: { shown: true, value: "20261120t101010-0000" } }, RUN, o)).toEqual([
      "its dcn_verify_run mark is '20261120t101010-0000', not 20261120t101010-beef",
    ]);
  });

  test("the journal does not replace a mark the API shows; it proves only what shows no metadata at all", () => {
    const journaled = { ...o, journaled: true };
    expect(notOursReasons({ name: `dcnv-${RUN}-dcn0-volume`, mark: { shown: true, value: undefined } }, RUN, journaled)).toEqual([
      "no dcn_verify_run mark",
    ]);
    expect(notOursReasons({ name: `dcnv-${RUN}-dcn0-backup`, mark: { shown: false } }, RUN, journaled)).toEqual([]);
    expect(notOursReasons({ name: `dcnv-${RUN}-dcn0-backup`, mark: { shown: false } }, RUN, o)).toEqual([
      "the API shows no metadata to hold a dcn_verify_run mark, and no journal lists it",
    ]);
  });

  test("a journaled resource renamed away from its run, or a name with no site, is not ours", () => {
    const journaled = { ...o, journaled: true };
    expect(notOursReasons({ name: "renamed", mark: marked }, RUN, journaled)).toEqual([
      `its name does not carry run ${RUN}`,
      "its name names no site",
    ]);
  });
});
