import { isIP } from "node:net";

/** glance-api.conf's [import_filtering_opts] (glance/async_/flows/_internal_plugins/__init__.py). */
export interface ImportFilter {
  allowed_schemes: string[];
  disallowed_schemes: string[];
  allowed_hosts: string[];
  disallowed_hosts: string[];
  allowed_ports: number[];
  disallowed_ports: number[];
}

/** Stock [import_filtering_opts]. */
export const STOCK_GLANCE_FILTER: ImportFilter = {
  allowed_schemes: ["http", "https"],
  disallowed_schemes: [],
  allowed_hosts: [],
  disallowed_hosts: [],
  allowed_ports: [80, 443],
  disallowed_ports: [],
};

/** A URL's scheme, host and port as Python's urllib.parse.urlparse reads them: the port only where the URL names one. */
export interface ImportUri {
  scheme: string;
  host?: string;
  port?: number;
}

/** NOTE: not WHATWG's URL, which drops a default port and rewrites numeric hosts (127.1 becomes 127.0.0.1) before Glance would see them. */
export function parseImportUri(uri: string): ImportUri {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)/.exec(uri);
  if (!m) return { scheme: /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri)?.[1]?.toLowerCase() ?? "" };
  const netloc = m[2]!.slice(m[2]!.lastIndexOf("@") + 1);
  const v6 = /^\[([^\]]*)\](?::(\d*))?$/.exec(netloc);
  const [host, port] = v6 ? [v6[1]!, v6[2]] : [netloc.replace(/:[^:]*$/, ""), /:(\d*)$/.exec(netloc)?.[1]];
  return {
    scheme: m[1]!.toLowerCase(),
    ...(host ? { host: host.toLowerCase() } : {}),
    ...(port ? { port: Number(port) } : {}),
  };
}

/**
 * The host as Glance compares it with its lists (normalize_hostname, glance/common/utils.py): an IP address in its
 * standard form, a name as given; undefined for a number that is no standard IPv4 address (2130706433, 127.1), which
 * Glance refuses. NOTE: Glance also refuses a name that does not resolve; the harness cannot tell what Glance resolves.
 */
function normalizedHost(host: string): string | undefined {
  if (isIP(host) === 4) return host;
  if (isIP(host) === 6) return new URL(`http://[${host}]/`).hostname.slice(1, -1);
  return /^[\d.]+$/.test(host) ? undefined : host;
}

/**
 * Why Glance's web-download filter refuses a URL, or undefined when it passes: `validate_import_uri`
 * (glance/common/utils.py) checks the scheme against allowed_schemes/disallowed_schemes, the host against
 * allowed_hosts/disallowed_hosts, and the port against allowed_ports/disallowed_ports only when the URL names one
 * (http://host/ passes allowed_ports whatever it lists). Where an allowed list is set, its disallowed one is ignored.
 */
export function importUriRefusal(uri: string, f: ImportFilter = STOCK_GLANCE_FILTER): string | undefined {
  const { scheme, host, port } = parseImportUri(uri);
  const denied = <T>(allowed: T[], disallowed: T[], v: T) => (allowed.length ? !allowed.includes(v) : disallowed.includes(v));
  if (!scheme || denied(f.allowed_schemes, f.disallowed_schemes, scheme))
    return `scheme ${scheme || "(none)"} is not allowed (allowed_schemes [${f.allowed_schemes.join(", ")}], disallowed_schemes [${f.disallowed_schemes.join(", ")}])`;
  const h = host && normalizedHost(host);
  if (!h) return host ? `host ${host} is a number Glance reads as an encoded address` : "the URL names no host";
  if (denied(f.allowed_hosts, f.disallowed_hosts, h))
    return `host ${h} is not allowed (allowed_hosts [${f.allowed_hosts.join(", ")}], disallowed_hosts [${f.disallowed_hosts.join(", ")}])`;
  // NOTE: Glance tests `if port and ...`: a URL without a port (or with port 0) is not port-checked.
  if (port && denied(f.allowed_ports, f.disallowed_ports, port))
    return `port ${port} is not allowed (allowed_ports [${f.allowed_ports.join(", ")}], disallowed_ports [${f.disallowed_ports.join(", ")}])`;
  return undefined;
}

const LOOPBACK_NAMES = new Set(["localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"]);

/**
 * A loopback or link-local host. Upstream's validate_import_uri has no rule for them. Glance builds with the fixes for
 * CVE-2026-71196, -71197 and -71198 (Debian's glance 2:25.1.0-2+deb12u5: get_validated_address and
 * resolve_pinned_address in glance/common/utils.py) refuse a host that resolves only to such addresses unless
 * allowed_hosts lists it; and only a Glance on the same machine reaches a loopback address at all.
 */
export function restrictedHost(host: string): "loopback" | "link-local" | undefined {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (LOOPBACK_NAMES.has(h)) return "loopback";
  const v = isIP(h);
  if (v === 4) {
    if (h.startsWith("127.")) return "loopback";
    if (h.startsWith("169.254.")) return "link-local";
  }
  if (v === 6) {
    const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    if (m) return restrictedHost(m[1]!);
    // NOTE: the URL parser writes ::ffff:127.0.0.1 as ::ffff:7f00:1.
    const x = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(h);
    if (x) {
      const [a, b] = [parseInt(x[1]!, 16), parseInt(x[2]!, 16)];
      return restrictedHost(`${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`);
    }
    if (h === "::1") return "loopback";
    if (/^fe[89ab]/.test(h)) return "link-local";
  }
  return undefined;
}

/** The run's failure when Glance answers an import with "URI for web-download does not pass filtering". */
export function filteringRefusal(uri: string | undefined, glanceSaid: string): string {
  return (
    `Glance refuses to fetch ${uri ?? "the URI"}: it does not pass glance-api.conf's [import_filtering_opts] ` +
    `(validate_import_uri, glance/common/utils.py: allowed_schemes; allowed_hosts/disallowed_hosts; allowed_ports, stock [80, 443], ` +
    `checked only when the URL names a port; builds with the 2026 SSRF fixes also refuse loopback and link-local hosts unless allowed_hosts lists them). ` +
    `Fix it in Glance, or set webDownload.port: 80|443, webDownload.advertiseUrl to an address Glance may fetch from, ` +
    `or webDownload.uri (Glance said: ${glanceSaid})`
  );
}

/**
 * Glance's own texts when filtering refuses a URL: the API's 400 ("URI for web-download does not pass
 * filtering"), the task's download ("URI does not pass filtering", glance/common/scripts/utils.py) and a
 * refused redirect ("Redirect to disallowed URL").
 */
export const FILTERING_REFUSAL = /does not pass filtering|Redirect to disallowed URL/;

/** The failure for an import task whose message says filtering refused the URL; undefined for any other message. */
export function filteringRefusedTask(task: { id: string; message?: string | null } | undefined | null): string | undefined {
  const m = task?.message ?? "";
  if (!FILTERING_REFUSAL.test(m)) return undefined;
  const url = /(https?:\/\/\S+)/.exec(m)?.[1];
  return filteringRefusal(url, `task ${task!.id}: ${m}`);
}
