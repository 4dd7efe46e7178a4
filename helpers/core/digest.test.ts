import { createHash } from "node:crypto";
import { describe, expect, test } from "vitest";
import { HeadDigestStream } from "./digest.ts";

const sha = (b: Buffer) => createHash("sha512").update(b).digest("hex");

describe("the head of an export and the zeros after it", () => {
  const head = Buffer.from("the bytes the harness wrote");

  test("hashes exactly the head across chunk borders, and finds the rest all zeros", () => {
    const d = new HeadDigestStream(head.length);
    const data = Buffer.concat([head, Buffer.alloc(100)]);
    const done = [data.subarray(0, 5), data.subarray(5, 40), data.subarray(40)].map((c) => d.update(c));
    expect(done).toEqual([false, true, true]);
    expect(d.result()).toEqual({ sha512: sha(head), headBytes: head.length, bytes: data.length });
  });

  test("names the first non-zero byte after the head, and a head changed by one byte hashes differently", () => {
    const tail = Buffer.alloc(64);
    tail[17] = 1;
    const d = new HeadDigestStream(head.length);
    const changed = Buffer.from(head);
    changed[3] ^= 0xff;
    d.update(Buffer.concat([changed, tail]));
    const r = d.result();
    expect(r.firstNonZeroAfterHead).toBe(head.length + 17);
    expect(r.sha512).not.toBe(sha(head));
  });

  test("data shorter than the head hashes what there is", () => {
    const d = new HeadDigestStream(1000);
    expect(d.update(head)).toBe(false);
    expect(d.result()).toMatchObject({ sha512: sha(head), headBytes: head.length, bytes: head.length });
  });
});
