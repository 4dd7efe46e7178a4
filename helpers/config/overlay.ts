/**
 * An overlay fills in, over a config file, what differs between two places the same config runs: hosts, ports,
 * paths, pinned fsids and how often waits poll (the embedded lab's overlay of examples/*.yaml is one). Sites are
 * matched by name; a site the overlay names and the file does not is an error, as is any field outside OVERLAY_FIELDS.
 */

type Json = Record<string, unknown>;

/** The fields an overlay may set, as dotted paths; `<site>` stands for `central` and each `edges[]` entry. */
export const OVERLAY_FIELDS = [
  "cloud.cloudsFile",
  "<site>.ceph.fsid",
  "<site>.ceph.conf",
  "<site>.ceph.keyring",
  "<site>.ceph.transport.host",
  "<site>.ceph.transport.port",
  "<site>.ceph.transport.user",
  "<site>.ceph.transport.identityFile",
  "<site>.ceph.transport.knownHostsFile",
  "<site>.ceph.transport.jumpHost",
  "<site>.ceph.transport.socketPath",
  "<site>.ceph.transport.confDir",
  "<site>.glance.endpoint",
  "webDownload.bind",
  "webDownload.port",
  "webDownload.advertiseUrl",
  "conformance.minPoolSize",
  "timeouts.pollInterval",
  "timeouts.pollIntervalMax",
] as const;

export class OverlayError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`overlay ${field}: ${message}`);
    this.name = "OverlayError";
  }
}

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Leaves of an object as [dotted path, value]; arrays and scalars are leaves. */
function leaves(o: Json, prefix: string): [string, unknown][] {
  return Object.entries(o).flatMap(([k, v]) => {
    const p = prefix ? `${prefix}.${k}` : k;
    return isObject(v) && !(p.endsWith("jumpHost") && isObject(v)) ? leaves(v, p) : [[p, v] as [string, unknown]];
  });
}

function setPath(target: Json, path: string[], value: unknown): void {
  let at = target;
  for (const k of path.slice(0, -1)) {
    if (!isObject(at[k])) at[k] = {};
    at = at[k] as Json;
  }
  at[path[path.length - 1]!] = value;
}

/** The config with the overlay's fields set; both are plain YAML data. The inputs are not changed. */
export function applyOverlay(config: unknown, overlay: unknown): Json {
  if (!isObject(config)) throw new OverlayError("", "the config is not a mapping");
  if (overlay === null || overlay === undefined) return structuredClone(config);
  if (!isObject(overlay)) throw new OverlayError("", "the overlay is not a mapping");
  const out = structuredClone(config);
  const allowed = new Set<string>(OVERLAY_FIELDS);
  const apply = (o: Json, prefix: string, target: Json, as: string) => {
    for (const [path, value] of leaves(o, "")) {
      const field = `${as}${as ? "." : ""}${path}`;
      if (!allowed.has(field))
        throw new OverlayError(
          `${prefix}${prefix ? "." : ""}${path}`,
          `an overlay sets only hosts, ports, paths and fsids (${OVERLAY_FIELDS.join(", ")})`,
        );
      setPath(target, path.split("."), value);
    }
  };
  for (const [key, value] of Object.entries(overlay)) {
    if (key === "central" || key === "edges") continue;
    if (!isObject(value)) throw new OverlayError(key, "expected a mapping");
    if (!isObject(out[key])) out[key] = {};
    apply({ [key]: value }, "", out, "");
  }
  const sites: [string, Json][] = [
    ...(overlay.central !== undefined ? [["central", overlay.central] as [string, unknown]] : []),
    ...(Array.isArray(overlay.edges) ? overlay.edges.map((e, i) => [`edges[${i}]`, e] as [string, unknown]) : []),
  ].map(([where, s]) => {
    if (!isObject(s) || typeof s.name !== "string")
      throw new OverlayError(where, "a site of an overlay is a mapping with the name of a site of the config");
    return [where, s];
  });
  if (overlay.edges !== undefined && !Array.isArray(overlay.edges)) throw new OverlayError("edges", "expected a list of sites");
  const configSites: Json[] = [out.central, ...(Array.isArray(out.edges) ? out.edges : [])].filter(isObject);
  for (const [where, s] of sites) {
    const target = configSites.find((c) => c.name === s.name);
    if (!target)
      throw new OverlayError(
        `${where}.name`,
        `no site '${String(s.name)}' in the config (sites: ${configSites.map((c) => String(c.name)).join(", ")})`,
      );
    const { name: _name, ...rest } = s;
    apply(rest, where, target, "<site>");
  }
  return out;
}
