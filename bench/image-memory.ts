// One upload as the harness does it, measured from outside (peak RSS by /usr/bin/time) and inside
// (bytes read from the file, from /proc/self/io): node --import tsx bench/image-memory.ts <sizeMiB> <raw|qcow2> <config>
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { openClients } from "../helpers/clients/index.ts";
import { waitForImageStatus } from "../helpers/clients/waiters.ts";
import { loadConfig } from "../helpers/config/load.ts";
import { timing } from "../helpers/config/timing.ts";
import { generateRawImage, hashingReadStream, prepareImage } from "../helpers/images/source.ts";

const rchar = () => Number(/rchar: (\d+)/.exec(readFileSync("/proc/self/io", "utf8"))![1]);

const [sizeArg, format, configPath] = process.argv.slice(2);
const sizeMiB = Number(sizeArg);
const cfg = await loadConfig(configPath);
const dir = mkdtempSync(join(tmpdir(), "dcnv-bench-img-"));
try {
  const raw = join(dir, "source.raw");
  await generateRawImage(raw, sizeMiB, "bench");
  let source = raw;
  if (format === "qcow2") {
    source = join(dir, "source.qcow2");
    await execa("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw, source]);
    rmSync(raw);
  }
  const prepared = await prepareImage({ ...cfg, image: { source: { path: source } } }, dir, "bench");
  const c = await openClients(cfg);
  const img = await c.image.createImage({
    name: `dcnv-bench-${process.pid}`,
    disk_format: "raw",
    container_format: "bare",
    visibility: "private",
  });
  try {
    const before = rchar();
    const src = hashingReadStream(prepared.path);
    const t0 = performance.now();
    await c.image.uploadImageData(img.id, src.stream, { store: cfg.central.store, size: prepared.sizeBytes, timeoutMs: 3600_000 });
    const digest = await src.digest;
    const uploadS = (performance.now() - t0) / 1000;
    const readBytes = rchar() - before;
    const active = (await waitForImageStatus(c.image, img.id, "active", timing(cfg.timeouts, "imageActive"))).value;
    process.stdout.write(
      `${JSON.stringify({
        sizeMiB,
        format,
        bytes: prepared.sizeBytes,
        uploadS: +uploadS.toFixed(2),
        readBytes,
        readRatio: +(readBytes / prepared.sizeBytes).toFixed(3),
        hashMatches: active.os_hash_value === digest.sha512,
      })}\n`,
    );
  } finally {
    await c.image.deleteImage(img.id);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
