import { describe, expect, test } from "vitest";
import { configSchema } from "./schema.ts";
import { testSite, validConfig } from "./testing.ts";

describe("conformance.backupsSite", () => {
  test("names the configured site whose backups pool every backup lands in; absent, each site's own", () => {
    expect(configSchema.parse({ ...validConfig(), conformance: { backupsSite: "central" } }).conformance.backupsSite).toBe("central");
    expect(configSchema.parse(validConfig()).conformance.backupsSite).toBeUndefined();
  });

  test("a site not in the config, or one without a backups pool, is refused", () => {
    const unknown = configSchema.safeParse({ ...validConfig(), conformance: { backupsSite: "dcn9" } });
    expect(unknown.error?.issues).toEqual([
      expect.objectContaining({ path: ["conformance", "backupsSite"], message: expect.stringMatching(/^no site 'dcn9' in the config/) }),
    ]);
    const none = configSchema.safeParse({
      ...validConfig(),
      central: testSite("central", { ceph: { cluster: "central", transport: { kind: "local" }, pools: { backups: false } } }),
      conformance: { backupsSite: "central" },
    });
    expect(none.error?.issues).toEqual([
      expect.objectContaining({ message: "site 'central' has no backups pool (its ceph.pools.backups is false)" }),
    ]);
  });
});
