import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, test } from "vitest";
import { configSchema } from "../config/schema.ts";
import { generateRawImage, hashingReadStream, makeOnce, prepareImage, qemuImgInfo } from "./source.ts";

const hasQemuImg = (await execa("qemu-img", ["--version"], { reject: false }).catch(() => ({ exitCode: 1 }))).exitCode === 0;
const base = { cloud: { cloud: "x" }, flavor: "f", central: site("central"), edges: [site("dcn0")] };
function site(name: string) {
  return { name, az: name, store: name, ceph: { cluster: name, transport: { kind: "local" } } };
}
const cfgWith = (source: unknown) => configSchema.parse({ ...base, image: { source } });
const sha = (f: string) => createHash("sha512").update(readFileSync(f)).digest("hex");

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

describe("image sources shared by the sites of a run", () => {
  test.skipIf(!hasQemuImg)("a site that prepares a URL source while another site is still downloading it gets the whole file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dcnv-img-"));
    await generateRawImage(join(dir, "served.raw"), 2, "u");
    const body = readFileSync(join(dir, "served.raw"));
    let requests = 0;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const server = createServer((_req, res) => {
      requests++;
      res.writeHead(200, { "content-length": body.length });
      res.write(body.subarray(0, body.length / 2));
      void released.then(() => res.end(body.subarray(body.length / 2)));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const cfg = cfgWith({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/image.raw` });
      const work = join(dir, "work");
      mkdirSync(work);
      const first = prepareImage(cfg, work, "run1");
      const written = () => readdirSync(work).some((f) => statSync(join(work, f)).size >= body.length / 2);
      while (!written()) await new Promise((r) => setTimeout(r, 10));
      const second = prepareImage(cfg, work, "run1").then((p) => ({ p, sha512: sha(p.path) }));
      await Promise.race([second, new Promise((r) => setTimeout(r, 1000))]);
      release();
      const [a, b] = await Promise.all([first, second]);
      expect(b.p.sizeBytes).toBe(body.length);
      expect(b.sha512).toBe(sha(join(dir, "served.raw")));
      expect(sha(a.path)).toBe(b.sha512);
      expect(requests).toBe(1);
      expect(readdirSync(work)).toEqual(["downloaded-run1"]);
    } finally {
      release();
      server.closeAllConnections();
      server.close();
    }
  });

  test.skipIf(!hasQemuImg)("a second preparation of a qcow2 source reuses the converted file, never converting over it again", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dcnv-img-"));
    const raw = join(dir, "src.raw");
    await generateRawImage(raw, 4, "q");
    const qcow = join(dir, "src.qcow2");
    await execa("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw, qcow]);
    const work = join(dir, "work");
    mkdirSync(work);
    const a = await prepareImage(cfgWith({ path: qcow }), work, "run1");
    const before = statSync(a.path);
    const b = await prepareImage(cfgWith({ path: qcow }), work, "run1");
    expect(b.path).toBe(a.path);
    expect(statSync(b.path).mtimeMs).toBe(before.mtimeMs);
    expect(statSync(b.path).ino).toBe(before.ino);
    expect(sha(b.path)).toBe(sha(raw));
  });

  test.skipIf(!hasQemuImg)("sites converting the same qcow2 at once all get its raw data, and leave one file behind", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dcnv-img-"));
    const raw = join(dir, "src.raw");
    await generateRawImage(raw, 8, "q");
    const qcow = join(dir, "src.qcow2");
    await execa("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw, qcow]);
    const work = join(dir, "work");
    mkdirSync(work);
    const cfg = cfgWith({ path: qcow });
    const got = await Promise.all(["central", "dcn0", "dcn1"].map(() => prepareImage(cfg, work, "run1").then((p) => sha(p.path))));
    expect(got).toEqual([sha(raw), sha(raw), sha(raw)]);
    expect(readdirSync(work)).toEqual(["converted-run1.raw"]);
  });

  test("when the site making the file fails, a waiting site makes it itself, and a failure leaves no lock or part behind", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dcnv-img-"));
    const path = join(dir, "shared.raw");
    const failing = makeOnce(
      path,
      async (tmp) => {
        writeFileSync(tmp, "half");
        await new Promise((r) => setTimeout(r, 200));
        throw new Error("download cut");
      },
      5000,
    );
    await new Promise((r) => setTimeout(r, 20));
    let madeBySecond = false;
    const waiting = makeOnce(
      path,
      async (tmp) => {
        madeBySecond = true;
        writeFileSync(tmp, "whole");
      },
      5000,
    );
    await expect(failing).rejects.toThrow("download cut");
    await waiting;
    expect(madeBySecond).toBe(true);
    expect(readFileSync(path, "utf8")).toBe("whole");
    expect(readdirSync(dir)).toEqual(["shared.raw"]);
  });
});
