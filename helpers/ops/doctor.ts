import { clientArgs } from "../ceph/transports/index.ts";
import { shellJoin } from "../ceph/transports/common.ts";
import { createCephProbe, hasCephAccess, noAccessReason, noneReason } from "../ceph/probe.ts";
import { ComputeClient } from "../clients/compute.ts";
import { openSession, type Session } from "../clients/identity.ts";
import { ImageClient } from "../clients/image.ts";
import { VolumeClient } from "../clients/volume.ts";
import { allSites } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { redactText } from "../core/redact.ts";
import { select, type Selection } from "./selection.ts";
import type { Check } from "./check.ts";
import { preflightChecks } from "./preflight.ts";

const defaultSelection = (cfg: Config) => select(cfg, {});

export type { Check };

const first = (e: unknown) => redactText((e as Error).message ?? String(e)).split("\n")[0]!;

/** The catalog services a run talks to: type, and what needs it. */
const SERVICES: { types: string[]; name: string; hint: string }[] = [
  { types: ["image"], name: "Glance", hint: "the run needs Glance's public endpoint in the catalog for this region" },
  { types: ["block-storage", "volumev3"], name: "Cinder v3", hint: "the run needs Cinder's v3 endpoint (type block-storage or volumev3)" },
  { types: ["compute"], name: "Nova", hint: "the run needs Nova's endpoint" },
  {
    types: ["network"],
    name: "Neutron",
    hint: "Nova looks up the network endpoint when showing servers; without it server calls fail with 500",
  },
];

/** The checks, then what the selected tests need (preflight); without a selection, every site and suite at tier standard. */
export async function runChecks(cfg: Config, sel: Pick<Selection, "sites" | "suites" | "tier"> = defaultSelection(cfg)): Promise<Check[]> {
  const checks: Check[] = [];
  let session: Session;
  try {
    session = await openSession(cfg);
    checks.push({
      name: "credentials",
      ok: true,
      detail: `authenticated as ${session.userName}, project ${session.projectName ?? "-"}, roles ${session.roles.join(", ") || "none"}`,
    });
  } catch (e) {
    checks.push({
      name: "credentials",
      ok: false,
      detail: first(e),
      hint: "check the cloud entry in clouds.yaml (or the OS_* variables): auth_url, user, password, project and domain",
    });
    return checks;
  }
  for (const s of SERVICES) {
    const found = s.types
      .map((t) => {
        try {
          return { t, url: session.endpoint(t) };
        } catch {
          return undefined;
        }
      })
      .find(Boolean);
    checks.push(
      found
        ? { name: `catalog ${s.name}`, ok: true, detail: `${found.t} at ${found.url}` }
        : {
            name: `catalog ${s.name}`,
            ok: false,
            detail: `no ${s.types.join(" or ")} endpoint (interface ${session.credentials.interface}, region ${session.credentials.regionName ?? "any"})`,
            hint: s.hint,
          },
    );
  }
  for (const site of allSites(cfg)) {
    if (site.region === undefined) continue;
    const types: [string, string][] = [
      ["Cinder v3", "volumev3"],
      ["Nova", "compute"],
      ...(site.name === cfg.central.name ? [["Glance", "image"] as [string, string]] : []),
    ];
    for (const [name, type] of types) {
      try {
        const url = session.endpoint(type, { region: site.region });
        checks.push({ name: `catalog ${name} at ${site.name}`, ok: true, detail: `${type} in region ${site.region} at ${url}` });
      } catch (e) {
        checks.push({
          name: `catalog ${name} at ${site.name}`,
          ok: false,
          detail: first(e),
          hint: `site ${site.name} sets region ${site.region}: its ${name} must be in the catalog there (or given by ${type === "volumev3" ? "volume" : type}_endpoint_override)`,
        });
      }
    }
  }
  const endpoint = async (name: string, probe: () => Promise<string>, hint: string) => {
    const t0 = performance.now();
    try {
      const detail = await probe();
      checks.push({ name: `endpoint ${name}`, ok: true, detail: `${detail} (${Math.round(performance.now() - t0)} ms)` });
    } catch (e) {
      checks.push({ name: `endpoint ${name}`, ok: false, detail: first(e), hint });
    }
  };
  await endpoint(
    "Glance",
    async () => {
      const stores = await new ImageClient(session, { region: cfg.central.region }).listStores();
      const want = allSites(cfg).map((s) => s.store);
      const missing = want.filter((w) => !stores.some((s) => s.id === w));
      if (missing.length)
        throw new Error(
          `GET /v2/info/stores answers, but lists no store ${missing.join(", ")} (it has ${stores.map((s) => s.id).join(", ")})`,
        );
      return `GET /v2/info/stores: ${stores.map((s) => s.id).join(", ")}`;
    },
    "the stores in the config must be Glance's store ids (run dcn-verify discover to see them)",
  );
  await endpoint(
    "Cinder",
    async () => `microversion ${(await VolumeClient.negotiate(session)).microversion}`,
    "Cinder must answer its version document on the catalog's endpoint",
  );
  await endpoint(
    "Nova",
    async () => `microversion ${(await ComputeClient.negotiate(session)).microversion}`,
    "Nova must answer its version document on the catalog's endpoint (the flavors are in the preflight below)",
  );
  checks.push(...(await preflightChecks(cfg, sel, session)));
  for (const site of allSites(cfg)) {
    if (!hasCephAccess(site)) {
      checks.push({
        name: `ceph ${site.name}`,
        ok: true,
        warn: true,
        detail: `${noAccessReason(noneReason(site))}: the Ceph checks at ${site.name} will be reported as not verified`,
        hint: `give ${site.name}'s ceph.transport a way to its cluster (local, ssh or container) for the rbd evidence`,
      });
      continue;
    }
    const probe = createCephProbe(site, { timeoutMs: cfg.timeouts.request * 1000 });
    try {
      const [fsid, health] = await Promise.all([probe.fsid(), probe.health()]);
      const pinned = site.ceph.fsid;
      checks.push({
        name: `ceph ${site.name}`,
        ok: !pinned || pinned === fsid,
        detail:
          `${site.ceph.transport.kind}: cluster ${site.ceph.cluster} fsid ${fsid}, ${health.status}` +
          (pinned
            ? pinned === fsid
              ? " (the pinned fsid)"
              : `; the config pins ${pinned}: the probe reaches another cluster`
            : "; fsid not pinned"),
        ...(pinned && pinned !== fsid
          ? { hint: `check ${site.name}'s ceph.cluster and ceph.transport, or pin the fsid of ${site.name}'s own cluster (ceph.fsid)` }
          : {}),
      });
    } catch (e) {
      checks.push({
        name: `ceph ${site.name}`,
        ok: false,
        detail: `${site.ceph.transport.kind}: ${first(e)}`,
        hint: `check ${site.name}'s ceph.transport (${site.ceph.transport.kind}) and that '${shellJoin(["ceph", ...clientArgs(site), "fsid"])}' works there`,
      });
    } finally {
      await probe.close();
    }
  }
  return checks;
}

export function formatChecks(checks: Check[]): string {
  const w = Math.max(...checks.map((c) => c.name.length));
  return checks
    .map(
      (c) =>
        `${c.ok ? (c.warn ? "WARN" : "OK  ") : "FAIL"}  ${c.name.padEnd(w)}  ${c.detail}${c.hint && (!c.ok || c.warn) ? `\n${" ".repeat(w + 8)}hint: ${c.hint}` : ""}`,
    )
    .join("\n");
}
