import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, test } from "vitest";
import { configSchema } from "../config/schema.ts";
import { generateRawImage, hashingReadStream, prepareImage, qemuImgInfo } from "./source.ts";

const hasQemuImg = (await execa("qemu-img", ["--version"], { reject: false }).catch(() => ({ exitCode: 1 }))).exitCode === 0;
const base = { cloud: { cloud: "x" }, flavor: "f", central: site("central"), edges: [site("dcn0")] };
function site(name: string) {
  return { name, az: name, store: name, ceph: { cluster: name, transport: { kind: "local" } } };
}
const cfgWith = (source: unknown) => configSchema.parse({ ...base, image: { source } });

describe("image sources", () => {
  test("the hash is computed while the bytes stream, in one read, and equals the file's sha512", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dcnv-img-"));
    const file = join(dir, "a.raw");
    await generateRawImage(file, 3, "seed");
    const h = hashingReadStream(file);
    const seen = createHash("sha512");
    let n = 0;
    for await (const chunk of h.stream) {
      seen.update(chunk as Buffer);
      n += (chunk as Buffer).length;
    }
    const d = await h.digest;
    expect(d.bytes).toBe(3 * 1024 * 1024);
    expect(n).toBe(d.bytes);
    expect(d.sha512).toBe(seen.digest("hex"));
    expect(d.sha512).toBe(createHash("sha512").update(readFileSync(file)).digest("hex"));
  });

  test("a generated image is deterministic per seed and differs between seeds", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dcnv-img-"));
    await generateRawImage(join(dir, "a"), 2, "one");
    await generateRawImage(join(dir, "b"), 2, "one");
    await generateRawImage(join(dir, "c"), 2, "two");
    const sha = (f: string) =>
      createHash("sha512")
        .update(readFileSync(join(dir, f)))
        .digest("hex");
    expect(sha("a")).toBe(sha("b"));
    expect(sha("a")).not.toBe(sha("c"));
  });

  test.skipIf(!hasQemuImg)("a qcow2 source is converted to raw with qemu-img, keeping its data", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dcnv-img-"));
    const raw = join(dir, "src.raw");
    await generateRawImage(raw, 4, "q");
    const qcow = join(dir, "src.qcow2");
    await execa("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw, qcow]);
    expect((await qemuImgInfo(qcow)).format).toBe("qcow2");
    const p = await prepareImage(cfgWith({ path: qcow }), dir, "run1");
    expect(p.convertedFrom).toBe("qcow2");
    expect(p.sizeBytes).toBe(4 * 1024 * 1024);
    const sha = (f: string) => createHash("sha512").update(readFileSync(f)).digest("hex");
    expect(sha(p.path)).toBe(sha(raw));
  });

  test.skipIf(!hasQemuImg)("a format other than raw or qcow2 is refused, naming the field", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dcnv-img-"));
    const vmdk = join(dir, "x.vmdk");
    await execa("qemu-img", ["create", "-f", "vmdk", vmdk, "1M"]);
    await expect(prepareImage(cfgWith({ path: vmdk }), dir, "r")).rejects.toThrow(/^image\.source: .*x\.vmdk is vmdk/);
  });

  test("a missing file is refused, naming the field", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dcnv-img-"));
    writeFileSync(join(dir, "other"), "");
    await expect(prepareImage(cfgWith({ path: join(dir, "nope.raw") }), dir, "r")).rejects.toThrow(/^image\.source\.path: no file at/);
  });
});
