import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { type Digest, StreamDigest } from "../core/digest.ts";
import { PACKAGE_ROOT } from "../core/package-root.ts";
import { convertImage, generateRawImage } from "../images/source.ts";
import { contentMismatches } from "./content.ts";

function digest(data: Buffer): Digest {
  const d = new StreamDigest();
  d.update(data);
  return d.result();
}

const dir = mkdtempSync(join(tmpdir(), "dcnv-content-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * ms-6's evidence, made the way the run makes it: the harness's raw bytes, converted to qcow2 (what Glance fetches),
 * and back to raw (what image_conversion writes to each store). The lab cannot make Glance write wrong content, so a
 * copy with one byte changed stands in for the corrupt `rbd export` of a store.
 */
describe("contentMismatches (ms-6)", () => {
  test("a conversion with the harness's bytes matches; a copy with one byte changed or cut short is named with both hashes", async () => {
    const raw = join(dir, "src.raw");
    await generateRawImage(raw, 2, "ms-6");
    await convertImage(raw, "raw", join(dir, "src.qcow2"), "qcow2");
    await convertImage(join(dir, "src.qcow2"), "qcow2", join(dir, "converted.raw"), "raw");
    const expected = digest(readFileSync(raw));
    const converted = digest(readFileSync(join(dir, "converted.raw")));
    const bad = readFileSync(join(dir, "converted.raw"));
    bad[4096] ^= 0xff;
    writeFileSync(join(dir, "corrupt.raw"), bad);
    const corrupt = digest(readFileSync(join(dir, "corrupt.raw")));
    const short = digest(bad.subarray(0, bad.length - 512));

    expect(contentMismatches(expected, { central: converted, dcn0: converted })).toEqual([]);
    expect(contentMismatches(expected, { central: converted, dcn0: corrupt, dcn1: short })).toEqual([
      `on dcn0: sha512 ${corrupt.sha512} (${corrupt.bytes} bytes), expected ${expected.sha512} (${expected.bytes} bytes)`,
      `on dcn1: sha512 ${short.sha512} (${short.bytes} bytes), expected ${expected.sha512} (${expected.bytes} bytes)`,
    ]);
  });

  test("over ms-6's evidence recorded from the lab: equal hashes pass; a store whose export differs is named with both hashes", () => {
    const recorded = JSON.parse(readFileSync(join(PACKAGE_ROOT, "fixtures/ceph/recorded-run/ms-6-rbd-export-sha512.json"), "utf8")) as {
      expected: Digest;
      got: Record<string, Digest>;
    };
    expect(Object.keys(recorded.got).length).toBeGreaterThan(1);
    expect(contentMismatches(recorded.expected, recorded.got)).toEqual([]);
    const [where, first] = Object.entries(recorded.got)[0]!;
    const corrupt = { ...first, sha512: `${first.sha512.slice(0, -1)}${first.sha512.endsWith("0") ? "1" : "0"}` };
    expect(contentMismatches(recorded.expected, { ...recorded.got, [where]: corrupt })).toEqual([
      `on ${where}: sha512 ${corrupt.sha512} (${corrupt.bytes} bytes), expected ${recorded.expected.sha512} (${recorded.expected.bytes} bytes)`,
    ]);
  });
});
