import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { redactText } from "../core/redact.ts";
import { applyOverlay, OverlayError } from "./overlay.ts";
import { type Config, configSchema, type Site } from "./schema.ts";

export type { CephTransport, Config, Site, Timeouts } from "./schema.ts";

export interface ConfigIssue {
  path: string;
  message: string;
}

/** A configuration problem found before any cloud call; the message names the file and each field. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly issues: ConfigIssue[],
    readonly kind = "config",
  ) {
    super(redactText(ConfigError.format(kind, source, issues)));
    this.name = "ConfigError";
  }

  static format(kind: string, source: string, issues: ConfigIssue[]): string {
    // NOTE: an option's error (--shard, --tier) comes whole as the source, with no issues of a file to list.
    if (!issues.length) return source;
    const lines = issues.map((i) => `${kind} ${i.path ? `${i.path}: ` : ""}${i.message}`);
    return lines.length === 1 ? `${lines[0]} (in ${source})` : `${lines.join("\n")}\n(in ${source})`;
  }
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else if (typeof p === "string" && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(p)) out += out ? `.${p}` : p;
    else out += `[${JSON.stringify(String(p))}]`;
  }
  return out;
}

type ZodIssue = z.core.$ZodIssue;
export interface RawIssue {
  path: PropertyKey[];
  message: string;
}

export function flattenIssues(issues: ReadonlyArray<ZodIssue>, prefix: PropertyKey[] = []): RawIssue[] {
  const out: RawIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === "unrecognized_keys") {
      for (const k of issue.keys) out.push({ path: [...path, k], message: "unknown field" });
    } else if (issue.code === "invalid_union" && issue.errors.length > 0) {
      // NOTE: a variant of another type ("expected object", given an array) says nothing about what was meant.
      const shaped = issue.errors.filter((e) => !(e.length === 1 && e[0]!.code === "invalid_type" && e[0]!.path.length === 0));
      const best = [...(shaped.length ? shaped : issue.errors)].sort((a, b) => a.length - b.length)[0]!;
      out.push(...flattenIssues(best, path));
    } else {
      out.push({ path, message: issue.message });
    }
  }
  return out;
}

export const errorMap = (iss: { code: string; input?: unknown }): string | undefined =>
  iss.code === "invalid_type" && iss.input === undefined ? "Required" : undefined;

/** zod parse whose failure lists every issue with its field path. */
export function parseWith<S extends z.ZodType>(schema: S, data: unknown, source: string, kind = "config"): z.output<S> {
  const r = schema.safeParse(data, { error: errorMap });
  if (!r.success) {
    throw new ConfigError(
      source,
      flattenIssues(r.error.issues).map((i) => ({ path: formatPath(i.path), message: i.message })),
      kind,
    );
  }
  return r.data;
}

export function parseYaml(text: string, source: string, kind: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => ({ path: "", message: `YAML ${e.message.replace(/\s+/g, " ").trim()}` })),
      kind,
    );
  }
  return doc.toJS();
}

export interface ConfigLookup {
  env?: NodeJS.ProcessEnv;
  labConfigPath?: string;
  /** An overlay file (helpers/config/overlay.ts); $DCN_VERIFY_OVERLAY when not given. */
  overlay?: string;
}

/** The given path, else $DCN_VERIFY_CONFIG, else the fallback (the embedded lab's config, from the CLI) when it exists. */
export function resolveConfigPath(path?: string, o: ConfigLookup = {}): string {
  const env = o.env ?? process.env;
  if (path) return resolve(path);
  if (env.DCN_VERIFY_CONFIG) return resolve(env.DCN_VERIFY_CONFIG);
  if (o.labConfigPath && existsSync(o.labConfigPath)) return o.labConfigPath;
  throw new ConfigError("(no file)", [
    {
      path: "",
      message: `no configuration: pass a path, set DCN_VERIFY_CONFIG${o.labConfigPath ? `, or bring the lab up so that ${o.labConfigPath} exists` : ""}`,
    },
  ]);
}

/** Reads and validates the harness configuration; relative cloudsFile and image paths are taken from the file's directory. */
export async function loadConfig(path?: string, o: ConfigLookup = {}): Promise<Config> {
  const file = resolveConfigPath(path, o);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new ConfigError(file, [{ path: "", message: `cannot read: ${(e as Error).message}` }]);
  }
  let raw = parseYaml(text, file, "config");
  if (raw === null || raw === undefined) throw new ConfigError(file, [{ path: "", message: "the file is empty" }]);
  const overlay = o.overlay ?? (o.env ?? process.env).DCN_VERIFY_OVERLAY;
  let source = file;
  if (overlay) {
    const at = resolve(overlay);
    let otext: string;
    try {
      otext = await readFile(at, "utf8");
    } catch (e) {
      throw new ConfigError(at, [{ path: "", message: `cannot read the overlay: ${(e as Error).message}` }]);
    }
    try {
      raw = applyOverlay(raw, parseYaml(otext, at, "overlay"));
    } catch (e) {
      if (e instanceof OverlayError)
        throw new ConfigError(at, [{ path: e.field, message: e.message.replace(/^overlay \S*: /, "") }], "overlay");
      throw e;
    }
    source = `${file} with overlay ${at}`;
  }
  const cfg = parseWith(configSchema, raw, source);
  const base = dirname(file);
  const nonAdmin = cfg.conformance.nonAdminCloud;
  if (nonAdmin && "cloudsFile" in nonAdmin && nonAdmin.cloudsFile && !isAbsolute(nonAdmin.cloudsFile))
    nonAdmin.cloudsFile = resolve(base, nonAdmin.cloudsFile);
  if ("cloudsFile" in cfg.cloud && cfg.cloud.cloudsFile && !isAbsolute(cfg.cloud.cloudsFile)) {
    cfg.cloud.cloudsFile = resolve(base, cfg.cloud.cloudsFile);
  }
  if ("path" in cfg.image.source && !isAbsolute(cfg.image.source.path)) {
    cfg.image.source.path = resolve(base, cfg.image.source.path);
  }
  return cfg;
}

/** Every configured site, central first. */
export function allSites(cfg: Pick<Config, "central" | "edges">): Site[] {
  return [cfg.central, ...cfg.edges];
}
