export const REDACTED = "***";

const MIN_SECRET_LENGTH = 4;
const secrets = new Set<string>();
let secretPattern: RegExp | undefined;

const SECRET_KEY =
  /^(?:password|passwd|pass|secret|token|auth[-_]?token|x-auth-token|x-subject-token|x-service-token|authorization|proxy-authorization|cookie|set-cookie|key|adminpass|admin_pass|application[-_]credential[-_]secret|client[-_]secret|credential|credentials|keyring|passphrase|connection|transport_url|sql_connection)$|(?:[-_](?:password|passwd|secret|token|key|passphrase))$/i;

/** True for keys whose value is a secret (password, token, key, connection...). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key) && !/^sort[-_]keys?$/i.test(key);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Remember a secret so that it is replaced wherever it appears in text. */
export function registerSecret(s: string | undefined | null): void {
  if (typeof s !== "string" || s.length < MIN_SECRET_LENGTH) return;
  const variants = [s, encodeURIComponent(s), JSON.stringify(s).slice(1, -1)];
  let changed = false;
  for (const v of variants) {
    if (v.length >= MIN_SECRET_LENGTH && !secrets.has(v)) {
      secrets.add(v);
      changed = true;
    }
  }
  if (changed) {
    const sorted = [...secrets].sort((a, b) => b.length - a.length).map(escapeRegExp);
    secretPattern = new RegExp(sorted.join("|"), "g");
  }
}

/** For tests: forget every registered secret. */
export function clearRegisteredSecrets(): void {
  secrets.clear();
  secretPattern = undefined;
}

const KEY_WORDS = "password|passwd|secret|token|x-auth-token|x-subject-token|x-service-token|adminPass|passphrase";
const KEY_NAME = `(?:[A-Za-z0-9_-]*(?:${KEY_WORDS})|(?<![A-Za-z0-9_-])key)`;

const TEXT_RULES: Array<[RegExp, string]> = [
  // scheme://user:password@host (database, AMQP and HTTP URLs)
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@'"]*:)([^\s@'"/]+)(@)/gi, `$1${REDACTED}$3`],
  // "password": "x" inside JSON text
  [new RegExp(`("${KEY_NAME}"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`, "gi"), `$1"${REDACTED}"`],
  // 'password': 'x' inside Python reprs
  [new RegExp(`('${KEY_NAME}'\\s*:\\s*)'(?:[^'\\\\]|\\\\.)*'`, "gi"), `$1'${REDACTED}'`],
  // HTTP headers in text
  [
    /\b(x-auth-token|x-subject-token|x-service-token|authorization|proxy-authorization|cookie|set-cookie)(\s*:\s*)([^\r\n,}]+)/gi,
    `$1$2${REDACTED}`,
  ],
  // password=x, OS_PASSWORD=x, key = x (query strings, env, ini files, connection strings, ceph keyrings)
  [new RegExp(`(${KEY_NAME}|(?<![A-Za-z0-9_-])pwd)(\\s*=\\s*)([^\\s&;,'"]+)`, "gi"), `$1$2${REDACTED}`],
  // --password x / --os-password x on command lines
  [/(--(?:os-)?(?:password|token|key|secret|application-credential-secret)(?:=|\s+))(\S+)/gi, `$1${REDACTED}`],
  // Bearer/Basic credentials
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g, `$1 ${REDACTED}`],
  // Fernet tokens and Ceph keys, even when nobody registered them
  [/\bgAAAAA[A-Za-z0-9_-]{40,}={0,2}/g, REDACTED],
  [/\bAQ[A-Za-z0-9+/]{38}==/g, REDACTED],
];

/** Replace registered secrets and secret-looking fragments in a string. */
export function redactText(s: string): string {
  let out = s;
  if (secretPattern) out = out.replace(secretPattern, REDACTED);
  for (const [re, rep] of TEXT_RULES) out = out.replace(re, rep);
  return out;
}

function isPlainObjectValue(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && isPlainObject(v);
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function redactDeep(value: unknown, seen: WeakMap<object, unknown>): unknown {
  if (typeof value === "string") return redactText(value);
  if (value === null || typeof value !== "object") return value;
  if (seen.has(value)) return seen.get(value) ?? "[Circular]";
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
  if (value instanceof Date) return value;
  if (value instanceof URL) return redactText(value.toString());
  if (value instanceof Error) {
    const toJSON = (value as { toJSON?: () => unknown }).toJSON;
    if (typeof toJSON === "function") {
      seen.set(value, "[Circular]");
      const json = toJSON.call(value);
      return redactDeep(isPlainObjectValue(json) ? { stack: value.stack, ...json } : json, seen);
    }
    const out: Record<string, unknown> = { name: value.name, message: redactText(value.message) };
    seen.set(value, out);
    if (value.stack) out.stack = redactText(value.stack);
    for (const [k, v] of Object.entries(value)) out[k] = redactEntry(k, v, seen);
    if ("cause" in value && value.cause !== undefined) out.cause = redactDeep(value.cause, seen);
    return out;
  }
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    seen.set(value, out);
    for (const v of value) out.push(redactDeep(v, seen));
    return out;
  }
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    seen.set(value, out);
    for (const [k, v] of value) out[String(k)] = redactEntry(String(k), v, seen);
    return out;
  }
  if (!isPlainObject(value)) {
    const toJSON = (value as { toJSON?: () => unknown }).toJSON;
    if (typeof toJSON === "function") {
      seen.set(value, "[Circular]");
      return redactDeep(toJSON.call(value), seen);
    }
    if (typeof (value as { pipe?: unknown }).pipe === "function") return "[stream]";
  }
  const out: Record<string, unknown> = {};
  seen.set(value, out);
  for (const [k, v] of Object.entries(value)) out[k] = redactEntry(k, v, seen);
  return out;
}

function redactEntry(key: string, v: unknown, seen: WeakMap<object, unknown>): unknown {
  if (isSecretKey(key) && v !== null && v !== undefined && typeof v !== "object") return REDACTED;
  if (isSecretKey(key) && Array.isArray(v) && v.every((x) => typeof x !== "object")) return v.map(() => REDACTED);
  return redactDeep(v, seen);
}

/**
 * A deep copy of value with secrets removed: values under secret-looking keys,
 * registered secrets anywhere in strings, and credentials inside URLs and text.
 */
export function redact(value: unknown): unknown {
  return redactDeep(value, new WeakMap());
}
