import { createCipheriv, createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, statSync } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough, type Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { threadId } from "node:worker_threads";
import axios from "axios";
import { execa } from "execa";
import { z } from "zod";
import type { Config } from "../config/schema.ts";
import { type Digest, StreamDigest } from "../core/digest.ts";

export class ImageSourceError extends Error {}

export const qemuInfoSchema = z.looseObject({
  format: z.string(),
  "virtual-size": z.number(),
  "actual-size": z.number().optional(),
  filename: z.string(),
});
export type QemuInfo = z.infer<typeof qemuInfoSchema>;

export interface PreparedImage {
  /** A raw file, ready to upload. */
  path: string;
  sizeBytes: number;
  source: string;
  sourceInfo: QemuInfo;
  convertedFrom?: string;
}

export async function qemuImgInfo(path: string): Promise<QemuInfo> {
  const r = await execa("qemu-img", ["info", "--output=json", path], { reject: false, timeout: 60000 });
  if (r.exitCode !== 0) throw new ImageSourceError(`image.source: qemu-img info ${path} failed: ${r.stderr.trim()}`);
  return qemuInfoSchema.parse(JSON.parse(r.stdout));
}

/** A sparse raw disk: a recognisable header, pseudo-random blocks spread through it, zeros between. */
export async function generateRawImage(path: string, sizeMiB: number, seed: string): Promise<void> {
  const MiB = 1024 * 1024;
  const fh = await open(path, "w", 0o600);
  try {
    await fh.truncate(sizeMiB * MiB);
    const blocks = Math.max(1, Math.min(8, sizeMiB));
    for (let i = 0; i < blocks; i++) {
      const offset = Math.floor((i * sizeMiB) / blocks) * MiB;
      // NOTE: an AES-CTR keystream keyed by the seed: pseudo-random and repeatable. A 64 MiB image takes 0.1 s; chaining
      // sha512 over 64-byte blocks took 0.7 s of CPU, at every site.
      const key = createHash("sha256").update(`${seed}:${i}`).digest();
      const buf = createCipheriv("aes-256-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(MiB));
      if (i === 0) buf.write(`dcn-verify test image ${seed}\n`, 0);
      await fh.write(buf, 0, MiB, offset);
    }
  } finally {
    await fh.close();
  }
}

async function download(url: string, dest: string, timeoutMs: number): Promise<void> {
  const r = await axios.get(url, { responseType: "stream", timeout: timeoutMs, validateStatus: () => true, proxy: false });
  if (r.status !== 200) throw new ImageSourceError(`image.source.url: GET ${url} returned HTTP ${r.status}`);
  await pipeline(r.data as Readable, createWriteStream(dest, { mode: 0o600 }));
}

/**
 * Turns the configured source into a raw file: a generated fixture, a path, or an http(s) URL.
 * A qcow2 is converted with qemu-img; any other non-raw format is refused with the field named.
 */
export async function prepareImage(cfg: Config, workDir: string, seed: string): Promise<PreparedImage> {
  const src = cfg.image.source;
  const downloadMs = cfg.timeouts.request * 1000 * 10;
  let path: string;
  let source: string;
  if ("generated" in src) {
    path = join(workDir, `generated-${seed}.raw`);
    source = `generated ${src.generated.sizeMiB} MiB raw`;
    await makeOnce(path, (tmp) => generateRawImage(tmp, src.generated.sizeMiB, seed), CONVERT_MS);
  } else if ("path" in src) {
    if (!existsSync(src.path)) throw new ImageSourceError(`image.source.path: no file at ${src.path}`);
    path = src.path;
    source = src.path;
  } else {
    path = join(workDir, `downloaded-${seed}`);
    source = src.url;
    await makeOnce(path, (tmp) => download(src.url, tmp, downloadMs), downloadMs);
  }
  const info = await qemuImgInfo(path);
  if (info.format === "raw") return { path, sizeBytes: statSync(path).size, source, sourceInfo: info };
  if (info.format !== "qcow2") {
    throw new ImageSourceError(
      `image.source: ${source} is ${info.format}; dcn-verify takes raw or qcow2 (RBD needs raw, qcow2 is converted)`,
    );
  }
  const raw = join(workDir, `converted-${seed}.raw`);
  await makeOnce(raw, (tmp) => convertImage(path, "qcow2", tmp, "raw", "image.source: "), CONVERT_MS);
  return { path: raw, sizeBytes: statSync(raw).size, source, sourceInfo: info, convertedFrom: "qcow2" };
}

const CONVERT_MS = 600000;

/**
 * Makes the file at `path` once for all the run's sites, which prepare their images at the same time (as may other
 * runs and shards on the machine): the first takes `<path>.lock` and writes a file of its own, renamed to `path`
 * when whole; the others wait for `path`. A file at `path` is therefore always complete, and never rewritten under a
 * site that is uploading it. When the maker fails, the next waiter tries in its turn (and reports its own error).
 */
export async function makeOnce(path: string, make: (tmp: string) => Promise<void>, timeoutMs: number): Promise<void> {
  const lock = `${path}.lock`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (existsSync(path)) return;
    const held = await open(lock, "wx").then(
      (fh) => fh.close().then(() => true),
      (e: NodeJS.ErrnoException) => {
        if (e.code === "EEXIST") return false;
        throw e;
      },
    );
    if (held) {
      const tmp = `${path}.${process.pid}-${threadId}-${randomBytes(4).toString("hex")}.part`;
      try {
        if (!existsSync(path)) {
          await make(tmp);
          await rename(tmp, path);
        }
      } finally {
        await rm(tmp, { force: true });
        await rm(lock, { force: true });
      }
      return;
    }
    if (Date.now() > deadline)
      throw new ImageSourceError(`image.source: ${path} was still being prepared by another site after ${timeoutMs / 1000} s (${lock})`);
    await sleep(100);
  }
}

/** qemu-img convert; a failure names the file, the target format and what qemu-img said. */
export async function convertImage(src: string, from: string, dest: string, to: string, field = ""): Promise<void> {
  const r = await execa("qemu-img", ["convert", "-f", from, "-O", to, src, dest], { reject: false, timeout: 600000 });
  if (r.exitCode !== 0) throw new ImageSourceError(`${field}qemu-img convert of ${src} to ${to} failed: ${r.stderr.trim()}`);
}

export interface HashedStream {
  stream: Readable;
  /** Resolves once the stream has been read to its end. */
  digest: Promise<Digest>;
}

/** Reads the file once: the bytes go to the uploader and through sha512 on their way. */
export function hashingReadStream(path: string): HashedStream {
  const seen = new StreamDigest();
  let resolve!: (v: Digest) => void;
  let reject!: (e: Error) => void;
  const digest = new Promise<Digest>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const tap = new Transform({
    highWaterMark: 1024 * 1024,
    transform(chunk: Buffer, _enc, cb) {
      seen.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      resolve(seen.result());
      cb();
    },
  });
  const file = createReadStream(path, { highWaterMark: 1024 * 1024 });
  file.on("error", (e) => {
    reject(e);
    tap.destroy(e);
  });
  const out = new PassThrough({ highWaterMark: 1024 * 1024 });
  file.pipe(tap).pipe(out);
  digest.catch(() => undefined);
  return { stream: out, digest };
}
