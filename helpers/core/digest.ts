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

/** Reads a stream to its end, hashing as it goes. */
export async function sha512Of(stream: AsyncIterable<unknown>): Promise<Digest> {
  const d = new StreamDigest();
  for await (const chunk of stream) d.update(chunk as Buffer);
  return d.result();
}
