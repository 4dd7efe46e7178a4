import { createHash } from "node:crypto";
import { describe, expect, test } from "vitest";
import { HeadDigestStream } from "../core/digest.ts";
import { judgeData } from "./data.ts";

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
