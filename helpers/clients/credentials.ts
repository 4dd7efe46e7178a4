import { accessSync, constants, existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { z } from "zod";
import { ConfigError, type ConfigIssue, errorMap, flattenIssues, formatPath, parseYaml, type RawIssue } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { registerSecret } from "../core/redact.ts";

// ---------------------------------------------------------------- clouds.yaml

export type Interface = "public" | "internal" | "admin";

/** What a password or token is scoped to: a project, a domain or the system. */
export interface AuthScope {
  projectName?: string;
  projectId?: string;
  projectDomainName?: string;
  projectDomainId?: string;
  domainName?: string;
  domainId?: string;
  systemScope?: string;
}

export type CloudAuth =
  | ({
      type: "password";
      authUrl: string;
      password: string;
      username?: string;
      userId?: string;
      userDomainName?: string;
      userDomainId?: string;
    } & AuthScope)
  | ({
      /** A token issued beforehand (keystoneauth's token/v3token): exchanged for a scoped one, never logged. */
      type: "token";
      authUrl: string;
      token: string;
    } & AuthScope)
  | {
      type: "v3applicationcredential";
      authUrl: string;
      applicationCredentialSecret: string;
      applicationCredentialId?: string;
      applicationCredentialName?: string;
      username?: string;
      userId?: string;
      userDomainName?: string;
      userDomainId?: string;
    };

export interface CloudCredentials {
  /** clouds.yaml entry name, or "envvars". */
  cloud: string;
  /** The file the entry came from, or "environment". */
  source: string;
  auth: CloudAuth;
  regionName?: string;
  interface: Interface;
  verify: boolean;
  cacert?: string;
  /** Client certificate (PEM) and its key, presented to every endpoint. */
  cert?: string;
  key?: string;
  /** The timeout of each API request, in seconds (clouds.yaml api_timeout, OS_API_TIMEOUT). */
  apiTimeoutS?: number;
  /** `<service>_endpoint_override` values by their service prefix (image, volume, block_storage, compute...). */
  endpointOverrides?: Record<string, string>;
}

export type CloudSelector = Config["cloud"];

export interface CloudLoadOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  home?: string;
  /** The system directories searched last; $XDG_CONFIG_DIRS/openstack and /etc/openstack by default. */
  siteDirs?: string[];
}

/** The clouds.yaml search path of openstacksdk (openstack/config/loader.py). */
export function cloudsSearchPath(base: "clouds" | "secure", o: CloudLoadOptions = {}): string[] {
  const env = o.env ?? process.env;
  const home = o.home ?? homedir();
  const dirs = [
    o.cwd ?? process.cwd(),
    join(env.XDG_CONFIG_HOME || join(home, ".config"), "openstack"),
    join(home, ".config", "openstack"),
    ...(o.siteDirs ?? [
      ...(env.XDG_CONFIG_DIRS || "/etc/xdg")
        .split(":")
        .filter(Boolean)
        .map((d) => join(d, "openstack")),
      "/etc/openstack",
    ]),
  ];
  const files: string[] = [];
  for (const d of dirs) for (const s of [".yaml", ".yml", ".json"]) files.push(join(d, base + s));
  const override = base === "clouds" ? env.OS_CLIENT_CONFIG_FILE : env.OS_CLIENT_SECURE_FILE;
  if (override) files.unshift(resolve(o.cwd ?? process.cwd(), override));
  return [...new Set(files)];
}

type Dict = Record<string, unknown>;

const isDict = (v: unknown): v is Dict => typeof v === "object" && v !== null && !Array.isArray(v);

function mergeClouds(a: Dict, b: Dict): Dict {
  const out: Dict = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isDict(v) && isDict(out[k]) ? mergeClouds(out[k] as Dict, v) : v;
  return out;
}

function normalizeKeys(d: Dict): Dict {
  const out: Dict = {};
  for (const [k0, v] of Object.entries(d)) {
    const k = k0.replace(/-/g, "_");
    if (isDict(v)) out[k] = normalizeKeys(v);
    else if (typeof v === "number" && k !== "api_timeout") out[k] = String(v);
    else out[k] = v;
  }
  return out;
}

async function readStructured(file: string, kind: string): Promise<unknown> {
  const text = await readFile(file, "utf8");
  if (file.endsWith(".json")) {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new ConfigError(file, [{ path: "", message: `JSON ${(e as Error).message}` }], kind);
    }
  }
  return parseYaml(text, file, kind);
}

const AUTH_OPTIONS = [
  "auth_url",
  "username",
  "user_id",
  "password",
  "user_domain_name",
  "user_domain_id",
  "project_name",
  "project_id",
  "project_domain_name",
  "project_domain_id",
  "domain_name",
  "domain_id",
  "default_domain_name",
  "default_domain_id",
  "system_scope",
  "trust_id",
  "token",
  "application_credential_id",
  "application_credential_name",
  "application_credential_secret",
];

/** The argument fix-ups of openstacksdk's OpenStackConfig.magic_fixes, for the keys this harness uses. */
function magicFixes(input: Dict): Dict {
  const c: Dict = { ...input };
  const auth: Dict = isDict(c.auth) ? { ...c.auth } : {};
  c.auth = auth;
  if ("endpoint_type" in c) c.interface ??= c.endpoint_type;
  delete c.endpoint_type;
  const authType = c.auth_type ?? c.auth_plugin;
  delete c.auth_plugin;
  if (authType !== undefined) c.auth_type = authType;
  const renames: Record<string, string[]> = {
    project_id: ["tenant_id", "project_id"],
    project_name: ["tenant_name", "project_name"],
    token: ["auth_token", "token"],
  };
  for (const [target, sources] of Object.entries(renames)) {
    let value: unknown;
    for (const k of sources) {
      if (k in c) value = c[k];
      if (k in auth) value = auth[k];
      delete c[k];
      delete auth[k];
    }
    if (value !== undefined) auth[target] = value;
  }
  for (const opt of AUTH_OPTIONS) {
    if (!(opt in auth) && opt in c) auth[opt] = c[opt];
    delete c[opt];
  }
  const projectScoped = "project_id" in auth || "project_name" in auth;
  if (projectScoped) {
    for (const which of ["id", "name"]) {
      const v = auth[`domain_${which}`];
      if (v !== undefined) {
        for (const k of [`user_domain_${which}`, `project_domain_${which}`]) if (!(k in auth)) auth[k] = v;
      }
      delete auth[`domain_${which}`];
    }
  }
  for (const which of ["id", "name"]) {
    const v = auth[`default_domain_${which}`];
    delete auth[`default_domain_${which}`];
    if (v === undefined) continue;
    if (!("user_domain_id" in auth || "user_domain_name" in auth)) auth[`user_domain_${which}`] = v;
    if (projectScoped && !("project_domain_id" in auth || "project_domain_name" in auth)) auth[`project_domain_${which}`] = v;
  }
  return c;
}

const nonEmpty = z.string().min(1);
const boolish = z
  .union([z.boolean(), z.enum(["true", "false", "True", "False", "1", "0", "yes", "no"])])
  .transform((v) => v === true || v === "true" || v === "True" || v === "1" || v === "yes");

const commonAuth = {
  auth_url: z.string().regex(/^https?:\/\/[^\s/]+/, "must be an http(s) URL"),
  username: nonEmpty.optional(),
  user_id: nonEmpty.optional(),
  user_domain_name: nonEmpty.optional(),
  user_domain_id: nonEmpty.optional(),
};

const passwordAuth = z.looseObject({
  ...commonAuth,
  password: nonEmpty,
  project_name: nonEmpty.optional(),
  project_id: nonEmpty.optional(),
  project_domain_name: nonEmpty.optional(),
  project_domain_id: nonEmpty.optional(),
  domain_name: nonEmpty.optional(),
  domain_id: nonEmpty.optional(),
  system_scope: nonEmpty.optional(),
});

const tokenAuth = z.looseObject({
  auth_url: commonAuth.auth_url,
  token: nonEmpty,
  project_name: nonEmpty.optional(),
  project_id: nonEmpty.optional(),
  project_domain_name: nonEmpty.optional(),
  project_domain_id: nonEmpty.optional(),
  domain_name: nonEmpty.optional(),
  domain_id: nonEmpty.optional(),
  system_scope: nonEmpty.optional(),
});

const appCredAuth = z.looseObject({
  ...commonAuth,
  application_credential_secret: nonEmpty,
  application_credential_id: nonEmpty.optional(),
  application_credential_name: nonEmpty.optional(),
});

/** What Keystone needs to identify the user and the scope, checked whatever else is wrong. */
function authRules(a: Dict, kind: "password" | "token" | "appcred"): RawIssue[] {
  const issues: RawIssue[] = [];
  const has = (k: string) => typeof a[k] === "string" && a[k] !== "";
  if (kind === "token") {
    if (!has("project_id") && !has("project_name") && !has("domain_id") && !has("domain_name") && !has("system_scope"))
      issues.push({ path: ["project_name"], message: "Required with a token (or project_id, domain_name, domain_id, system_scope)" });
    if (has("project_name") && !has("project_id") && !has("project_domain_name") && !has("project_domain_id"))
      issues.push({ path: ["project_domain_name"], message: "Required with project_name (or project_domain_id)" });
    return issues;
  }
  if (!has("password") && has("token"))
    issues.push({ path: ["password"], message: "Required: a token needs auth_type token or v3token (OS_AUTH_TYPE=v3token)" });
  if (kind === "appcred") {
    if (has("application_credential_id")) return issues;
    if (!has("application_credential_name")) {
      issues.push({ path: ["application_credential_id"], message: "Required (or application_credential_name with the user)" });
    } else if (!has("user_id") && !(has("username") && (has("user_domain_name") || has("user_domain_id")))) {
      issues.push({
        path: ["username"],
        message: "application_credential_name needs user_id, or username with user_domain_name/user_domain_id",
      });
    }
    return issues;
  }
  if (!has("username") && !has("user_id")) issues.push({ path: ["username"], message: "Required (or user_id)" });
  if (has("username") && !has("user_id") && !has("user_domain_name") && !has("user_domain_id")) {
    issues.push({ path: ["user_domain_name"], message: "Required with username (or user_domain_id)" });
  }
  if (has("project_name") && !has("project_id") && !has("project_domain_name") && !has("project_domain_id")) {
    issues.push({ path: ["project_domain_name"], message: "Required with project_name (or project_domain_id)" });
  }
  return issues;
}

const interfaceSchema = z
  .string()
  .transform((s) => s.replace(/URL$/, ""))
  .pipe(z.enum(["public", "internal", "admin"]));

const cloudEntrySchema = z.looseObject({
  auth_type: z
    .enum(["password", "v3password", "token", "v3token", "v3applicationcredential", "applicationcredential"], {
      error: "one of password, v3password, token, v3token, v3applicationcredential, applicationcredential",
    })
    .default("password"),
  auth: z.looseObject({}),
  region_name: nonEmpty.optional(),
  interface: interfaceSchema.default("public"),
  verify: boolish.optional(),
  insecure: boolish.optional(),
  cacert: nonEmpty.optional(),
  cert: nonEmpty.optional(),
  key: nonEmpty.optional(),
  api_timeout: z
    .preprocess(
      (v) => (typeof v === "string" && /^\d+(\.\d+)?$/.test(v) ? Number(v) : v),
      z.number({ error: "a number of seconds" }).positive("a number of seconds above 0"),
    )
    .optional(),
});

const ENDPOINT_OVERRIDE = /^(.+)_endpoint_override$/;
const overrideUrl = z.string().regex(/^https?:\/\/[^\s/]+/, "must be an http(s) URL");

function expandHome(p: string, home: string): string {
  return p === "~" || p.startsWith("~/") ? join(home, p.slice(1)) : p;
}

function toCredentials(
  entry: Dict,
  cloud: string,
  source: string,
  label: (p: PropertyKey[]) => string,
  kind: string,
  home: string,
): CloudCredentials {
  const issues: ConfigIssue[] = [];
  const collect = (schema: z.ZodType, data: unknown, prefix: PropertyKey[]) => {
    const r = schema.safeParse(data, { error: errorMap });
    if (r.success) return r.data;
    for (const i of flattenIssues(r.error.issues, prefix)) issues.push({ path: label(i.path), message: i.message });
    return undefined;
  };
  const e = collect(cloudEntrySchema, entry, []) as z.output<typeof cloudEntrySchema> | undefined;
  if (!e) throw new ConfigError(source, issues, kind);
  const authKind =
    e.auth_type === "v3applicationcredential" || e.auth_type === "applicationcredential"
      ? "appcred"
      : e.auth_type === "token" || e.auth_type === "v3token"
        ? "token"
        : "password";
  const isAppCred = authKind === "appcred";
  const a = collect({ appcred: appCredAuth, token: tokenAuth, password: passwordAuth }[authKind], e.auth, ["auth"]) as Dict | undefined;
  for (const i of authRules(e.auth, authKind)) {
    const path = label(["auth", ...i.path]);
    const at = issues.findIndex((x) => x.path === path && x.message === "Required");
    if (at >= 0) issues.splice(at, 1);
    issues.push({ path, message: i.message });
  }
  const files: Partial<Record<"cacert" | "cert" | "key", string>> = {};
  for (const k of ["cacert", "cert", "key"] as const) {
    const f = e[k];
    if (f === undefined) continue;
    files[k] = expandHome(f, home);
    try {
      accessSync(files[k], constants.R_OK);
    } catch (err) {
      issues.push({ path: label([k]), message: `cannot read ${files[k]} (${(err as NodeJS.ErrnoException).code ?? "error"})` });
    }
  }
  if (e.key !== undefined && e.cert === undefined) issues.push({ path: label(["key"]), message: "a client key needs cert as well" });
  const endpointOverrides: Record<string, string> = {};
  for (const [k, v] of Object.entries(entry)) {
    const m = ENDPOINT_OVERRIDE.exec(k);
    if (!m) continue;
    const url = collect(overrideUrl, v, [k]) as string | undefined;
    if (url) endpointOverrides[m[1]!] = url.replace(/\/+$/, "");
  }
  if (!a || issues.length > 0) throw new ConfigError(source, issues, kind);
  const s = (k: string) => (typeof a[k] === "string" ? (a[k] as string) : undefined);
  const strip = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  const scope = {
    projectName: s("project_name"),
    projectId: s("project_id"),
    projectDomainName: s("project_domain_name"),
    projectDomainId: s("project_domain_id"),
    domainName: s("domain_name"),
    domainId: s("domain_id"),
    systemScope: s("system_scope"),
  };
  const auth: CloudAuth =
    authKind === "token"
      ? strip({
          type: "token" as const,
          authUrl: s("auth_url")!,
          token: s("token")!,
          ...scope,
        })
      : isAppCred
        ? strip({
            type: "v3applicationcredential" as const,
            authUrl: s("auth_url")!,
            applicationCredentialSecret: s("application_credential_secret")!,
            applicationCredentialId: s("application_credential_id"),
            applicationCredentialName: s("application_credential_name"),
            username: s("username"),
            userId: s("user_id"),
            userDomainName: s("user_domain_name"),
            userDomainId: s("user_domain_id"),
          })
        : strip({
            type: "password" as const,
            authUrl: s("auth_url")!,
            password: s("password")!,
            username: s("username"),
            userId: s("user_id"),
            userDomainName: s("user_domain_name"),
            userDomainId: s("user_domain_id"),
            ...scope,
          });
  registerSecret(s("password"));
  registerSecret(s("application_credential_secret"));
  registerSecret(s("token"));
  const verify = e.insecure === true ? false : (e.verify ?? true);
  return strip({
    cloud,
    source,
    auth,
    regionName: e.region_name,
    interface: e.interface,
    verify,
    cacert: files.cacert,
    cert: files.cert,
    key: files.key,
    apiTimeoutS: e.api_timeout,
    endpointOverrides: Object.keys(endpointOverrides).length ? endpointOverrides : undefined,
  });
}

function envLabel(path: PropertyKey[]): string {
  const field = path[path.length - 1];
  return `OS_${String(field).toUpperCase()}`;
}

function pickRegion(entry: Dict, wanted: string | undefined, cloud: string, source: string): Dict {
  const raw = entry.regions ?? (typeof entry.region_name === "string" ? entry.region_name.split(",") : undefined);
  const out = { ...entry };
  delete out.regions;
  if (!Array.isArray(raw) || raw.length === 0) {
    if (wanted) out.region_name = wanted;
    return out;
  }
  const regions = raw.map((r) =>
    isDict(r) ? { name: String(r.name), values: isDict(r.values) ? r.values : {} } : { name: String(r), values: {} },
  );
  const region = wanted ? regions.find((r) => r.name === wanted) : regions[0];
  if (!region) {
    throw new ConfigError(
      source,
      [{ path: `clouds.${cloud}.regions`, message: `region '${wanted}' is not one of ${regions.map((r) => r.name).join(", ")}` }],
      "clouds",
    );
  }
  return { ...mergeClouds(out, normalizeKeys(region.values)), region_name: region.name };
}

async function firstExisting(files: string[]): Promise<string | undefined> {
  return files.find((f) => existsSync(f));
}

interface CloudsDoc {
  clouds: Dict;
  /** The clouds file, with the secure file merged into it when there is one. */
  source: string;
}

/** clouds.yaml (the first found, or cloudsFile) merged with secure.yaml, as openstacksdk reads them. */
async function readCloudsDoc(cloudsFile: string | undefined, o: CloudLoadOptions): Promise<CloudsDoc | { searched: string[] }> {
  const env = o.env ?? process.env;
  const searched = cloudsFile ? [resolve(o.cwd ?? process.cwd(), cloudsFile)] : cloudsSearchPath("clouds", o);
  const file = await firstExisting(searched);
  if (!file) return { searched };
  let doc = await readStructured(file, "clouds");
  if (!isDict(doc) || !isDict(doc.clouds))
    throw new ConfigError(file, [{ path: "clouds", message: "Required: a mapping of cloud names" }], "clouds");
  const secureFiles = cloudsSearchPath("secure", o);
  if (cloudsFile)
    secureFiles.splice(env.OS_CLIENT_SECURE_FILE ? 1 : 0, 0, ...[".yaml", ".yml", ".json"].map((s) => join(dirname(file), `secure${s}`)));
  const secure = await firstExisting(secureFiles);
  let source = file;
  if (secure) {
    const sdoc = await readStructured(secure, "clouds");
    if (isDict(sdoc)) doc = mergeClouds(doc as Dict, sdoc);
    source = `${file} + ${secure}`;
  }
  return { clouds: (doc as Dict).clouds as Dict, source };
}

const ENV_SELECTORS = new Set(["OS_CLOUD", "OS_REGION_NAME", "OS_CLIENT_CONFIG_FILE", "OS_CLIENT_SECURE_FILE", "OS_CLOUD_NAME"]);

/** openstacksdk's _get_os_environ: every OS_* variable, lowercased; none unless one is more than a selector. */
function envCloud(env: NodeJS.ProcessEnv): Dict | undefined {
  const keys = Object.keys(env).filter(
    (k) => k.startsWith("OS_") && !/^OS_(TEST|STD|LOG)/.test(k) && env[k] !== undefined && env[k] !== "",
  );
  if (!keys.some((k) => !ENV_SELECTORS.has(k))) return undefined;
  const entry: Dict = {};
  for (const k of keys)
    if (k !== "OS_CLOUD" && k !== "OS_CLOUD_NAME" && !k.startsWith("OS_CLIENT_")) entry[k.slice(3).toLowerCase()] = env[k];
  return entry;
}

/**
 * Credentials for the configured cloud: a clouds.yaml entry (searched and merged with secure.yaml
 * the way openstacksdk does) or, with fromEnv, the cloud openstacksdk picks from the environment:
 * the entry OS_CLOUD names, else the OS_* variables, else the only entry of clouds.yaml.
 */
export async function loadCloudCredentials(sel: CloudSelector, o: CloudLoadOptions = {}): Promise<CloudCredentials> {
  const env = o.env ?? process.env;
  const home = o.home ?? homedir();
  let cloudName: string | undefined;
  let cloudsFile: string | undefined;
  let docs: CloudsDoc | { searched: string[] };
  if ("fromEnv" in sel) {
    // NOTE: openstacksdk (config/loader.py, OpenStackConfig.__init__ and get_one) makes the OS_* variables a
    // cloud of their own, used only when OS_CLOUD is not set: with OS_CLOUD every other OS_* variable is
    // ignored, OS_REGION_NAME too (the openstack CLI differs: its --os-* options default to the variables).
    const envKey = env.OS_CLOUD_NAME || "envvars";
    const fromVars = envCloud(env);
    docs = await readClouds();
    if ("clouds" in docs && envKey in docs.clouds) {
      throw new ConfigError(
        docs.source,
        [
          {
            path: `clouds.${envKey}`,
            message: `the file defines a cloud named '${envKey}', the name OS_CLOUD_NAME gives the OS_* variables (openstacksdk refuses this too): rename one`,
          },
        ],
        "clouds",
      );
    }
    cloudName = env.OS_CLOUD || (fromVars ? envKey : undefined);
    if (fromVars && cloudName === envKey) {
      if (sel.region) fromVars.region_name = sel.region;
      if (sel.interface) fromVars.interface = sel.interface;
      return toCredentials(magicFixes(normalizeKeys(fromVars)), envKey, "environment", envLabel, "environment", home);
    }
    if (!cloudName && "clouds" in docs && Object.keys(docs.clouds).length === 1) cloudName = Object.keys(docs.clouds)[0]!;
    if (!cloudName) {
      const where = "clouds" in docs ? `${docs.source} has ${Object.keys(docs.clouds).join(", ") || "no cloud"}` : "no clouds.yaml found";
      throw new ConfigError(
        "environment",
        [
          {
            path: "OS_CLOUD",
            message: `Required: cloud.fromEnv is set but no OS_* credentials (nor OS_CLOUD) are in the environment, and ${where}`,
          },
        ],
        "environment",
      );
    }
  } else {
    cloudName = sel.cloud;
    cloudsFile = sel.cloudsFile;
    docs = await readClouds();
  }
  async function readClouds() {
    return readCloudsDoc(cloudsFile, o);
  }

  if (!("clouds" in docs)) {
    throw new ConfigError(
      cloudsFile ?? "clouds.yaml",
      [{ path: "", message: `no clouds.yaml found; looked in: ${docs.searched.join(", ")}` }],
      "clouds",
    );
  }
  const { clouds, source } = docs;
  const raw = clouds[cloudName];
  if (!isDict(raw)) {
    throw new ConfigError(
      source,
      [{ path: `clouds.${cloudName}`, message: `no such cloud (the file has: ${Object.keys(clouds).join(", ") || "none"})` }],
      "clouds",
    );
  }
  if ("profile" in raw || "cloud" in raw) {
    throw new ConfigError(
      source,
      [{ path: `clouds.${cloudName}.profile`, message: "vendor profiles are not supported; give auth_url and the rest in the entry" }],
      "clouds",
    );
  }
  let entry = normalizeKeys(raw);
  entry = pickRegion(entry, sel.region, cloudName, source);
  if (sel.interface) entry.interface = sel.interface;
  return toCredentials(magicFixes(entry), cloudName, source, (p) => `clouds.${cloudName}.${formatPath(p)}`, "clouds", home);
}
