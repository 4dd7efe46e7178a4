export type ReadOnlyCheck = { ok: true } | { ok: false; reason: string };

export interface ReadOnlyOptions {
  /** When given, a `--cluster` in argv must name this cluster. */
  cluster?: string;
}

type Tool = "rbd" | "ceph";

interface Allowed {
  words: string[];
  args: [min: number, max: number];
  check?: (args: string[], opts: Map<string, string | true>) => string | undefined;
}

const FORMATS = new Set(["json", "json-pretty", "plain", "xml", "xml-pretty"]);
const FORBIDDEN = new Map([
  ["-c", "the cluster config is chosen by the transport"],
  ["--conf", "the cluster config is chosen by the transport"],
  ["-k", "the keyring is chosen by the transport"],
  ["--keyring", "the keyring is chosen by the transport"],
  ["--keyfile", "keys never travel on the command line"],
  ["--key", "keys never travel on the command line"],
  ["-m", "the monitors are chosen by the transport"],
  ["--mon-host", "the monitors are chosen by the transport"],
]);

const COMMON_VALUE_OPTIONS = ["--cluster", "--id", "--user", "-n", "--name", "--format", "-f"];

const OPTIONS: Record<Tool, { value: Set<string>; flag: Set<string> }> = {
  rbd: {
    value: new Set([
      ...COMMON_VALUE_OPTIONS.filter((o) => o !== "-f"),
      "-p",
      "--pool",
      "--namespace",
      "--image",
      "--snap",
      "--from-snap",
      "--export-format",
    ]),
    flag: new Set([
      "-l",
      "--long",
      "-a",
      "--all",
      "--pretty-format",
      "--descendants",
      "--whole-object",
      "--no-progress",
      "--merge-snapshots",
    ]),
  },
  ceph: {
    value: new Set([...COMMON_VALUE_OPTIONS, "--connect-timeout"]),
    flag: new Set(["-s", "--status"]),
  },
};

const oneOf = (values: string[]) => (args: string[]) =>
  args.every((a) => values.includes(a)) ? undefined : `only ${values.join("|")} may follow`;

const RBD: Allowed[] = [
  { words: ["ls"], args: [0, 1] },
  { words: ["list"], args: [0, 1] },
  { words: ["info"], args: [0, 1] },
  { words: ["snap", "ls"], args: [0, 1] },
  { words: ["snap", "list"], args: [0, 1] },
  { words: ["du"], args: [0, 1] },
  { words: ["disk-usage"], args: [0, 1] },
  { words: ["diff"], args: [0, 1] },
  { words: ["status"], args: [0, 1] },
  { words: ["children"], args: [0, 1] },
  { words: ["lock", "ls"], args: [0, 1] },
  { words: ["lock", "list"], args: [0, 1] },
  { words: ["pool", "stats"], args: [0, 1] },
  { words: ["trash", "ls"], args: [0, 1] },
  { words: ["trash", "list"], args: [0, 1] },
  {
    words: ["export"],
    args: [1, 2],
    check: (args) => (args.at(-1) === "-" ? undefined : "rbd export may only write to stdout ('-')"),
  },
];

const CEPH: Allowed[] = [
  { words: ["status"], args: [0, 0] },
  { words: ["health"], args: [0, 1], check: oneOf(["detail"]) },
  { words: ["df"], args: [0, 1], check: oneOf(["detail"]) },
  { words: ["fsid"], args: [0, 0] },
  { words: ["version"], args: [0, 0] },
  { words: ["versions"], args: [0, 0] },
  { words: ["quorum_status"], args: [0, 0] },
  { words: ["mon", "dump"], args: [0, 1] },
  { words: ["mon", "stat"], args: [0, 0] },
  { words: ["osd", "dump"], args: [0, 1] },
  { words: ["osd", "tree"], args: [0, 0] },
  { words: ["osd", "stat"], args: [0, 0] },
  { words: ["osd", "df"], args: [0, 0] },
  { words: ["osd", "lspools"], args: [0, 0] },
  { words: ["osd", "pool", "ls"], args: [0, 1], check: oneOf(["detail"]) },
  { words: ["osd", "pool", "get"], args: [2, 2] },
  { words: ["osd", "pool", "stats"], args: [0, 1] },
  { words: ["osd", "pool", "application", "get"], args: [0, 3] },
  {
    words: ["auth", "get"],
    args: [1, 1],
    check: (_args, opts) => {
      const format = opts.get("--format") ?? opts.get("-f");
      return format === "json" || format === "json-pretty"
        ? undefined
        : "ceph auth get is allowed only with --format json, so that the key can be stripped";
    },
  },
];

interface Parsed {
  tool: Tool;
  positional: string[];
  options: Map<string, string | true>;
}

function parse(argv: string[]): Parsed | string {
  const [tool, ...rest] = argv;
  if (tool !== "rbd" && tool !== "ceph") return `only rbd and ceph may run, not ${JSON.stringify(tool ?? "")}`;
  const known = OPTIONS[tool];
  const positional: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === "--") return "'--' is not accepted";
    if (!arg.startsWith("-") || arg === "-") {
      positional.push(arg);
      continue;
    }
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const forbidden = FORBIDDEN.get(name);
    if (forbidden) return `option ${name} is not accepted: ${forbidden}`;
    if (known.flag.has(name)) {
      if (eq > 0) return `option ${name} takes no value`;
      options.set(name, true);
    } else if (known.value.has(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : rest[++i];
      if (value === undefined) return `option ${name} needs a value`;
      options.set(name, value);
    } else {
      return `option ${name} is not on the read-only allowlist for ${tool}`;
    }
  }
  return { tool, positional, options };
}

function matchCommand(table: Allowed[], positional: string[]): Allowed | undefined {
  return table.filter((a) => a.words.every((w, i) => positional[i] === w)).sort((a, b) => b.words.length - a.words.length)[0];
}

export function checkReadOnly(argv: string[], opts: ReadOnlyOptions = {}): ReadOnlyCheck {
  const parsed = parse(argv);
  if (typeof parsed === "string") return { ok: false, reason: parsed };
  const { tool, positional, options } = parsed;

  const cluster = options.get("--cluster");
  if (opts.cluster !== undefined && cluster !== undefined && cluster !== opts.cluster) {
    return { ok: false, reason: `--cluster ${String(cluster)} is not this site's cluster (${opts.cluster})` };
  }
  const format = options.get("--format") ?? options.get("-f");
  if (typeof format === "string" && !FORMATS.has(format)) return { ok: false, reason: `unknown format ${format}` };

  if (tool === "ceph" && (options.has("-s") || options.has("--status"))) {
    return positional.length === 0 ? { ok: true } : { ok: false, reason: "ceph -s takes no command words" };
  }
  const command = matchCommand(tool === "rbd" ? RBD : CEPH, positional);
  const shown = `${tool} ${positional.join(" ")}`.trim();
  if (!command) return { ok: false, reason: `'${shown}' is not a read-only command on the allowlist` };
  const args = positional.slice(command.words.length);
  const [min, max] = command.args;
  if (args.length < min || args.length > max) {
    return {
      ok: false,
      reason: `'${tool} ${command.words.join(" ")}' takes ${min === max ? min : `${min} to ${max}`} argument(s), got ${args.length}`,
    };
  }
  const problem = command.check?.(args, options);
  return problem ? { ok: false, reason: problem } : { ok: true };
}

/** Commands whose stdout carries key material and must go through {@link stripKeys}. */
export function needsKeyStrip(argv: string[]): boolean {
  const parsed = parse(argv);
  return typeof parsed !== "string" && parsed.tool === "ceph" && parsed.positional[0] === "auth";
}

/** Removes every `key` field from JSON output; falls back to {@link redactSecrets} if it is not JSON. */
export function stripKeys(stdout: string): string {
  let value: unknown;
  try {
    value = JSON.parse(stdout);
  } catch {
    return redactSecrets(stdout);
  }
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === "object") {
      return Object.fromEntries(
        Object.entries(v)
          .filter(([k]) => k !== "key")
          .map(([k, x]) => [k, strip(x)]),
      );
    }
    return v;
  };
  return `${JSON.stringify(strip(value))}\n`;
}

const SECRET_PATTERNS: [RegExp, string][] = [
  [/("key"\s*:\s*)"[^"]*"/g, '$1"[REDACTED]"'],
  [/(\bkey\s*=\s*)\S+/gi, "$1[REDACTED]"],
  [/\bAQ[A-Za-z0-9+/]{30,}={0,2}/g, "[REDACTED]"],
];

export function redactSecrets(text: string): string {
  return SECRET_PATTERNS.reduce((t, [re, by]) => t.replace(re, by), text);
}
