import { createHash } from "node:crypto";

export interface Digest {
  sha512: string;
  bytes: number;
}

/** sha512 and byte count of data seen chunk by chunk, never held whole. */
export class StreamDigest {
  private readonly hash = createHash("sha512");
  private bytes = 0;

  update(chunk: Buffer): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
  }

  result(): Digest {
    return { sha512: this.hash.digest("hex"), bytes: this.bytes };
  }
}

export interface HeadDigest {
  /** sha512 of the first headBytes (or fewer, when the data is shorter). */
  sha512: string;
  /** Bytes hashed. */
  headBytes: number;
  /** Bytes seen in all. */
  bytes: number;
  /** Offset of the first non-zero byte after the head, when there is one. */
  firstNonZeroAfterHead?: number;
}

/**
 * sha512 of a head of the data, and where the rest stops being zeros: what a volume or an image
 * made from a smaller image holds (the image's bytes, then zeros).
 */
export class HeadDigestStream {
  private readonly hash = createHash("sha512");
  private hashed = 0;
  private seen = 0;
  private nonZero: number | undefined;
  private zeros = Buffer.alloc(0);

  constructor(private readonly head: number) {}

  /** Takes the next chunk; true once the head is hashed. */
  update(chunk: Buffer): boolean {
    const take = Math.max(0, Math.min(chunk.length, this.head - this.hashed));
    if (take) this.hash.update(take === chunk.length ? chunk : chunk.subarray(0, take));
    this.hashed += take;
    if (this.nonZero === undefined && take < chunk.length) {
      const rest = chunk.subarray(take);
      if (this.zeros.length < rest.length) this.zeros = Buffer.alloc(rest.length);
      if (!rest.equals(this.zeros.subarray(0, rest.length))) this.nonZero = this.seen + take + rest.findIndex((b) => b !== 0);
    }
    this.seen += chunk.length;
    return this.hashed >= this.head;
  }

  result(): HeadDigest {
    return {
      sha512: this.hash.digest("hex"),
      headBytes: this.hashed,
      bytes: this.seen,
      ...(this.nonZero !== undefined ? { firstNonZeroAfterHead: this.nonZero } : {}),
    };
  }
}

/** Reads a stream to its end, hashing as it goes. */
export async function sha512Of(stream: AsyncIterable<unknown>): Promise<Digest> {
  const d = new StreamDigest();
  for await (const chunk of stream) d.update(chunk as Buffer);
  return d.result();
}
