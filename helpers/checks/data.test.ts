import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { type Digest, HeadDigestStream } from "../core/digest.ts";
import { PACKAGE_ROOT } from "../core/package-root.ts";
import { convertImage, generateRawImage } from "../images/source.ts";
import { dataAfter, judgeData } from "./data.ts";

// The bytes and sizes of the lab's step 7 (a 64 MiB generated image in a 1 GiB volume), scaled down.
const written = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251));
const known = { sha512: createHash("sha512").update(written).digest("hex"), sizeBytes: written.length };
const read = (data: Buffer) => {
  const d = new HeadDigestStream(known.sizeBytes);
  d.update(data);
  return d.result();
};

describe("data read back from Ceph, against the bytes the harness wrote", () => {
  test("the same bytes followed by zeros pass", () => {
    expect(judgeData("the image images/x@snap on dcn0", known, read(Buffer.concat([written, Buffer.alloc(8192)])), 12288)).toBeUndefined();
  });

  test("one byte changed in a copy fails, naming the site, the object and both hashes", () => {
    const corrupt = Buffer.from(written);
    corrupt[1000] ^= 1;
    const got = read(corrupt);
    const msg = judgeData("the edge copy images/x@snap on dcn0", known, got, written.length);
    expect(msg).toContain("the edge copy images/x@snap on dcn0");
    expect(msg).toContain(got.sha512);
    expect(msg).toContain(known.sha512);
  });

  test("a short copy, a wrong size and data after the harness's bytes each fail", () => {
    expect(judgeData("v", known, read(written.subarray(0, 100)))).toMatch(/holds 100 bytes, fewer than the 4096/);
    expect(judgeData("v", known, read(Buffer.concat([written, Buffer.alloc(10)])), 4096)).toMatch(/holds 4106 bytes, expected 4096/);
    const tail = Buffer.alloc(100);
    tail[50] = 9;
    expect(judgeData("v", known, read(Buffer.concat([written, tail])))).toMatch(/first non-zero byte at offset 4146/);
  });
});

/** A whole image read back, its head being all of it: what ms-6 compares in each store. */
const whole = (data: Buffer) => {
  const d = new HeadDigestStream(data.length);
  d.update(data);
  return d.result();
};

const dir = mkdtempSync(join(tmpdir(), "dcnv-data-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * ms-6's evidence, made the way the run makes it: the harness's raw bytes, converted to qcow2 (what Glance fetches)
 * and back to raw (what image_conversion writes to each store). The lab cannot make Glance write wrong content, so a
 * copy with one byte changed, or cut short, stands in for a corrupt store.
 */
describe("ms-6: Glance's conversion against the harness's own", () => {
  test("a conversion of the harness's bytes matches; one byte changed or a copy cut short is named with both hashes", async () => {
    const raw = join(dir, "src.raw");
    await generateRawImage(raw, 2, "ms-6");
    await convertImage(raw, "raw", join(dir, "src.qcow2"), "qcow2");
    await convertImage(join(dir, "src.qcow2"), "qcow2", join(dir, "converted.raw"), "raw");
    const bytes = readFileSync(raw);
    const known = { sha512: createHash("sha512").update(bytes).digest("hex"), sizeBytes: bytes.length };
    const converted = readFileSync(join(dir, "converted.raw"));
    expect(judgeData("dcn0", known, whole(converted), bytes.length)).toBeUndefined();
    const corrupt = Buffer.from(converted);
    corrupt[4096] ^= 0xff;
    const got = whole(corrupt);
    expect(judgeData("the image on dcn0", known, got, bytes.length)).toBe(
      `the image on dcn0: its first ${bytes.length} bytes hash to ${got.sha512}, but the bytes the harness wrote hash to ${known.sha512}`,
    );
    expect(judgeData("the image on dcn1", known, whole(converted.subarray(0, converted.length - 512)), bytes.length)).toMatch(
      /^the image on dcn1 holds \d+ bytes, fewer than the \d+ the harness wrote$/,
    );
  });

  test("over ms-6's evidence recorded from the lab: equal hashes pass; a store whose export differs is named with both hashes", () => {
    const recorded = JSON.parse(readFileSync(join(PACKAGE_ROOT, "fixtures/ceph/recorded-run/ms-6-rbd-export-sha512.json"), "utf8")) as {
      expected: Digest;
      got: Record<string, Digest>;
    };
    const known = { sha512: recorded.expected.sha512, sizeBytes: recorded.expected.bytes };
    const read = (d: Digest) => ({ sha512: d.sha512, headBytes: d.bytes, bytes: d.bytes });
    expect(Object.keys(recorded.got).length).toBeGreaterThan(1);
    for (const [where, d] of Object.entries(recorded.got)) expect(judgeData(where, known, read(d), known.sizeBytes)).toBeUndefined();
    const [where, first] = Object.entries(recorded.got)[0]!;
    const corrupt = { ...first, sha512: `${first.sha512.slice(0, -1)}${first.sha512.endsWith("0") ? "1" : "0"}` };
    expect(judgeData(where, known, read(corrupt), known.sizeBytes)).toContain(
      `hash to ${corrupt.sha512}, but the bytes the harness wrote hash to ${known.sha512}`,
    );
  });
});

describe("the tail after the head: read, or known from the cluster's own map of the image", () => {
  const MiB = 1024 * 1024;
  const extent = (offset: number, length: number, exists = true) => ({ offset, length, exists });

  test("extents inside the head leave nothing after it, so the tail is not read", () => {
    expect(dataAfter([extent(0, 4 * MiB), extent(60 * MiB, 4 * MiB)], 64 * MiB)).toEqual([]);
  });

  test("an extent past the head, or across its end, means the whole image is read", () => {
    expect(dataAfter([extent(0, 4 * MiB), extent(512 * MiB, 4 * MiB)], 64 * MiB)).toEqual([extent(512 * MiB, 4 * MiB)]);
    expect(dataAfter([extent(62 * MiB, 4 * MiB)], 64 * MiB)).toEqual([extent(62 * MiB, 4 * MiB)]);
  });

  test("an extent the diff marks as not existing (discarded) holds no data", () => {
    expect(dataAfter([extent(512 * MiB, 4 * MiB, false)], 64 * MiB)).toEqual([]);
  });
});
