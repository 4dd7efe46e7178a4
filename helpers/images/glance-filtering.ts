import { isIP } from "node:net";

const LOOPBACK_NAMES = new Set(["localhost", "localhost.localdomain", "ip6-localhost"]);

/** Loopback and link-local addresses: this Glance refuses both unless allowed_hosts lists the host. */
export function refusedHost(host: string): "loopback" | "link-local" | "unspecified" | undefined {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (LOOPBACK_NAMES.has(h)) return "loopback";
  const v = isIP(h);
  if (v === 4) {
    if (h.startsWith("127.")) return "loopback";
    if (h.startsWith("169.254.")) return "link-local";
    if (h === "0.0.0.0") return "unspecified";
  }
  if (v === 6) {
    const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    if (m) return refusedHost(m[1]!);
    // NOTE: the URL parser writes ::ffff:127.0.0.1 as ::ffff:7f00:1.
    const x = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(h);
    if (x) {
      const [a, b] = [parseInt(x[1]!, 16), parseInt(x[2]!, 16)];
      return refusedHost(`${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`);
    }
    if (h === "::1") return "loopback";
    if (/^fe[89ab]/.test(h)) return "link-local";
    if (h === "::") return "unspecified";
  }
  return undefined;
}

/** Stock [import_filtering_opts] (glance/async_/flows/_internal_plugins/__init__.py). */
export const STOCK_GLANCE_FILTER = {
  allowed_schemes: ["http", "https"],
  allowed_ports: [80, 443],
  allowed_hosts: [],
  disallowed_hosts: [],
};

/** The run's failure when Glance answers an import with "URI for web-download does not pass filtering". */
export function filteringRefusal(uri: string | undefined, glanceSaid: string): string {
  return (
    `Glance refuses to fetch ${uri ?? "the URI"}: it does not pass glance-api.conf's [import_filtering_opts] ` +
    `(allowed_ports, stock [80, 443]; disallowed_hosts/allowed_hosts, loopback and link-local refused unless allowed_hosts lists them). ` +
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
