import { describe, expect, test } from "vitest";
import type { Clients } from "../clients/index.ts";
import { configSchema } from "../config/schema.ts";
import { testSite, validConfig } from "../config/testing.ts";
import { findLeftovers, notOursReasons } from "./leftovers.ts";

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

describe("cleanup across regions", () => {
  const cfg = configSchema.parse({ ...validConfig(), edges: [testSite("dcn0"), testSite("dcn1", { region: "RegionTwo" })] });
  const vol = (site: string) => ({ id: `v-${site}`, name: `dcnv-${RUN}-${site}-volume`, metadata: { dcn_verify_run: RUN } });
  /** Clients of one region: Nova and Cinder list what is there; Glance is central's. */
  const clients = (volumes: object[], images: object[] = []) =>
    ({
      compute: { listServers: async () => [] },
      volume: { listBackups: async () => [], listSnapshots: async () => [], listVolumes: async () => volumes },
      image: { listImages: async () => images },
    }) as unknown as Clients;

  test("lists Nova and Cinder in every site's region, once per resource, and Glance once", async () => {
    const here = clients([vol("dcn0"), vol("central")]);
    const there = clients([vol("dcn1"), vol("dcn0")], [{ id: "never-listed", name: `dcnv-${RUN}-dcn1-image`, dcn_verify_run: RUN }]);
    const { ours } = await findLeftovers(here, cfg, { regions: [there] });
    expect(ours.map((r) => `${r.kind} ${r.site}`).sort()).toEqual(["volume central", "volume dcn0", "volume dcn1"]);
    expect((await findLeftovers(here, cfg, {})).ours.map((r) => r.site).sort()).toEqual(["central", "dcn0"]);
  });
});
