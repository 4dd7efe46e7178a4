/**
 * The configuration reference in docs/configuration.md, generated from the config's zod schema so that it cannot
 * drift. `npm run docs:config` rewrites the section between the markers; `--check` exits 1 when it differs.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { z } from "zod";
import { configSchema } from "../helpers/config/schema.ts";
import { PACKAGE_ROOT } from "../helpers/core/package-root.ts";

export const START = "<!-- config-reference:start -->";
export const END = "<!-- config-reference:end -->";
/** The page the reference is written into (a checkout's; the package holds no docs/). */
export const REFERENCE_PAGE = join(PACKAGE_ROOT, "docs", "configuration.md");

interface Node {
  type?: string | string[];
  description?: string;
  default?: unknown;
  const?: unknown;
  enum?: unknown[];
  properties?: Record<string, Node>;
  required?: string[];
  additionalProperties?: Node | boolean;
  items?: Node;
  anyOf?: Node[];
  oneOf?: Node[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minItems?: number;
  minLength?: number;
}

interface Row {
  field: string;
  type: string;
  required: boolean;
  default: string;
  description: string;
}

const code = (v: unknown) => `\`${typeof v === "string" ? v : JSON.stringify(v)}\``;
const variantsOf = (n: Node) => n.anyOf ?? n.oneOf;
const isObject = (n: Node) => n.type === "object" || Boolean(n.properties);

/** The property every variant holds as a constant (a discriminator), if there is one. */
function discriminator(variants: Node[]): string | undefined {
  const first = variants[0]?.properties ?? {};
  return Object.keys(first).find((k) => variants.every((v) => v.properties?.[k]?.const !== undefined));
}

function variantLabel(v: Node, key: string | undefined): string {
  if (key) return `${key}: ${String(v.properties![key]!.const)}`;
  if (v.type === "array") return "as a list";
  if (isObject(v)) return v.required?.length ? `with ${v.required[0]}` : "as a map";
  return typeText(v);
}

function typeText(n: Node): string {
  const variants = variantsOf(n);
  if (variants) {
    const key = discriminator(variants);
    return `one of: ${variants.map((v) => (isObject(v) || v.type === "array" ? variantLabel(v, key) : typeText(v))).join(" \\| ")}`;
  }
  if (n.const !== undefined) return code(n.const);
  if (n.enum) return n.enum.map(code).join(" \\| ");
  if (n.type === "array")
    return `list${n.minItems ? ` (at least ${n.minItems})` : ""}${n.items && !isObject(n.items) ? ` of ${typeText(n.items)}` : ""}`;
  if (isObject(n)) return n.properties ? "object" : "map";
  const bounds = [
    n.exclusiveMinimum !== undefined ? `> ${n.exclusiveMinimum}` : n.minimum !== undefined ? `≥ ${n.minimum}` : "",
    n.maximum !== undefined && n.maximum < Number.MAX_SAFE_INTEGER ? `≤ ${n.maximum}` : "",
  ].filter(Boolean);
  return `${Array.isArray(n.type) ? n.type.join(" or ") : (n.type ?? "any")}${bounds.length ? ` ${bounds.join(", ")}` : ""}`;
}

/** A default, unless it is an object or list too long to read in a cell (its fields show theirs). */
function defaultText(n: Node): string {
  if (n.default === undefined) return "";
  const text = JSON.stringify(n.default);
  return typeof n.default === "object" && n.default !== null && text.length > 40 ? "" : code(n.default);
}

/** A node's shape, for finding one already listed: its description and default left out. */
function shape(n: Node): string {
  const { description: _d, default: _v, ...rest } = n;
  return JSON.stringify(rest);
}

function rows(n: Node, field: string, required: boolean, seen: Map<string, string>, out: Row[], note = ""): void {
  const nested = isObject(n) || Boolean(variantsOf(n)) || (n.type === "array" && n.items && isObject(n.items));
  const same = nested ? seen.get(shape(n)) : undefined;
  out.push({
    field: `${code(field)}${note}`,
    type: same ? `as ${code(same)}` : typeText(n),
    required,
    default: defaultText(n),
    description: n.description ?? "",
  });
  if (same) return;
  if (nested) seen.set(shape(n), field);
  const variants = variantsOf(n);
  if (variants) {
    const key = discriminator(variants);
    for (const v of variants) {
      const label = ` (${variantLabel(v, key)})`;
      if (isObject(v)) children(v, field, seen, out, label, key);
      else if (v.type === "array" && v.items && isObject(v.items)) children(v.items, `${field}[]`, seen, out, label);
    }
    return;
  }
  if (n.type === "array" && n.items && isObject(n.items)) return children(n.items, `${field}[]`, seen, out, note);
  if (isObject(n)) children(n, field, seen, out, note);
}

function children(n: Node, field: string, seen: Map<string, string>, out: Row[], note: string, skip?: string): void {
  for (const [k, child] of Object.entries(n.properties ?? {})) {
    if (k === skip) continue;
    rows(child, field ? `${field}.${k}` : k, n.required?.includes(k) ?? false, seen, out, note);
  }
  if (typeof n.additionalProperties === "object") rows(n.additionalProperties, `${field}.<name>`, false, seen, out, note);
}

/** Table cell text: pipes escaped, and '<' outside code spans, so that <name> is not read as HTML. */
const cell = (s: string) =>
  s
    .replaceAll("|", "\\|")
    .replaceAll("\n", " ")
    .split("`")
    .map((part, i) => (i % 2 ? part : part.replaceAll("<", "&lt;")))
    .join("`");

/** The reference: one row per field of the config, in the schema's order. */
export function renderConfigReference(): string {
  const json = z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as Node;
  const out: Row[] = [];
  children(json, "", new Map(), out, "");
  const table = [
    "| field | type | required | default | description |",
    "| ----- | ---- | -------- | ------- | ----------- |",
    ...out.map((r) => `| ${r.field} | ${r.type} | ${r.required ? "yes" : ""} | ${r.default} | ${cell(r.description)} |`),
  ];
  return [
    START,
    "",
    "Generated from `helpers/config/schema.ts` by `npm run docs:config`; a unit test fails when this section and the schema differ.",
    "A field marked _(kind: ssh)_ or _(with cloud)_ belongs to that form of its parent only.",
    "",
    ...table,
    "",
    END,
  ].join("\n");
}

/** The page's text with the section between the markers replaced. */
export function withReference(page: string, reference: string): string {
  const a = page.indexOf(START);
  const b = page.indexOf(END);
  if (a < 0 || b < a) throw new Error(`docs/configuration.md has no '${START}' … '${END}' section to write the reference into`);
  return page.slice(0, a) + reference + page.slice(b + END.length);
}

function main(): void {
  const { values } = parseArgs({ options: { check: { type: "boolean", default: false } } });
  const page = readFileSync(REFERENCE_PAGE, "utf8");
  const next = withReference(page, renderConfigReference());
  if (values.check) {
    if (next !== page) {
      process.stderr.write("docs/configuration.md's configuration reference differs from the schema: run npm run docs:config\n");
      process.exitCode = 1;
    }
    return;
  }
  if (next !== page) writeFileSync(REFERENCE_PAGE, next);
  process.stdout.write(`${next !== page ? "updated" : "unchanged"}: the configuration reference in ${REFERENCE_PAGE}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
