import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect } from "vitest";
import { stringify } from "yaml";
import { clearRegisteredSecrets } from "../core/redact.ts";
import { ConfigError, loadConfig } from "./load.ts";

/** For unit tests of config and credentials: a fresh folder per test, and files written into it. */
export function configFolder(): { dir(): string; write(name: string, content: string | object): string } {
  let dir = "";
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "dcnv-config-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    clearRegisteredSecrets();
  });
  return {
    dir: () => dir,
    write(name, content) {
      const file = join(dir, name);
      mkdirSync(join(file, ".."), { recursive: true });
      writeFileSync(file, typeof content === "string" ? content : stringify(content));
      return file;
    },
  };
}

export const testSite = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  az: name,
  store: name,
  ceph: { cluster: name, transport: { kind: "local" } },
  ...extra,
});

/** A config that validates: central and two edges, on local Ceph transports but dcn1's (docker). */
export const validConfig = () => ({
  cloud: { cloud: "lab", cloudsFile: "clouds.yaml" },
  central: testSite("central"),
  edges: [testSite("dcn0"), testSite("dcn1", { ceph: { cluster: "dcn1", transport: { kind: "docker", socketPath: "/run/docker.sock" } } })],
  flavor: "m1.tiny",
});

/** Writes a config file and expects loading it to fail with a ConfigError naming the file. */
export async function configError(
  write: (name: string, content: string | object) => string,
  content: string | object,
): Promise<ConfigError> {
  const file = write("dcn-verify.yaml", content);
  const e = await loadConfig(file).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ConfigError);
  const err = e as ConfigError;
  expect(err.message).toContain(file);
  return err;
}
