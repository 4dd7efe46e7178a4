import { computeHost } from "./openstack.ts";
import type { LabAdmin } from "./os-admin.ts";
import { LabError, sleep } from "./procs.ts";

export const LAB_FLAVOR = "dcnv.tiny";

/** Waits until every site's compute service is registered, then maps the hosts into the cell. */
export async function waitForComputes(admin: LabAdmin, sites: string[], timeoutMs = 120000): Promise<void> {
  const nova = await admin.endpoint("compute");
  const start = Date.now();
  let seen: string[] = [];
  while (Date.now() - start < timeoutMs) {
    const r = await admin.request("GET", `${nova}/os-services?binary=nova-compute`);
    if (r.status === 200) {
      seen = (r.data.services as { host: string; state: string }[]).filter((s) => s.state === "up").map((s) => s.host);
      if (sites.every((s) => seen.includes(computeHost(s)))) return;
    }
    await sleep(1000);
  }
  throw new LabError(
    `nova-compute: hosts ${sites.map(computeHost).join(", ")} not all up after ${timeoutMs / 1000} s (up: ${seen.join(", ") || "none"})`,
    "nova-compute",
  );
}

export async function ensureAggregates(admin: LabAdmin, sites: string[]): Promise<void> {
  const nova = await admin.endpoint("compute");
  const list = await admin.expect([200], "GET", `${nova}/os-aggregates`);
  for (const site of sites) {
    let agg = (list.aggregates as { id: number; name: string; hosts: string[]; availability_zone: string | null }[]).find(
      (a) => a.name === site,
    );
    if (!agg)
      agg = (await admin.expect([200], "POST", `${nova}/os-aggregates`, { aggregate: { name: site, availability_zone: site } })).aggregate;
    if (!(agg!.hosts ?? []).includes(computeHost(site))) {
      await admin.expect([200], "POST", `${nova}/os-aggregates/${agg!.id}/action`, { add_host: { host: computeHost(site) } });
    }
  }
}

export async function setAggregateMembership(admin: LabAdmin, site: string, member: boolean): Promise<void> {
  const nova = await admin.endpoint("compute");
  const list = await admin.expect([200], "GET", `${nova}/os-aggregates`);
  const agg = (list.aggregates as { id: number; name: string; hosts: string[] }[]).find((a) => a.name === site);
  if (!agg) throw new LabError(`no host aggregate named ${site}`);
  const has = (agg.hosts ?? []).includes(computeHost(site));
  if (member && !has)
    await admin.expect([200], "POST", `${nova}/os-aggregates/${agg.id}/action`, { add_host: { host: computeHost(site) } });
  if (!member && has)
    await admin.expect([200], "POST", `${nova}/os-aggregates/${agg.id}/action`, { remove_host: { host: computeHost(site) } });
}

export async function ensureFlavor(admin: LabAdmin): Promise<void> {
  const nova = await admin.endpoint("compute");
  const list = await admin.expect([200], "GET", `${nova}/flavors`);
  if ((list.flavors as { name: string }[]).some((f) => f.name === LAB_FLAVOR)) return;
  await admin.expect([200], "POST", `${nova}/flavors`, { flavor: { name: LAB_FLAVOR, ram: 256, vcpus: 1, disk: 0 } });
}

/** One volume type per site: its backend, and the Glance store volume uploads go to. */
export async function ensureVolumeTypes(admin: LabAdmin, sites: string[]): Promise<void> {
  const cinder = await admin.endpoint("volumev3");
  const list = await admin.expect([200], "GET", `${cinder}/types`);
  for (const site of sites) {
    let type = (list.volume_types as { id: string; name: string }[]).find((t) => t.name === site);
    if (!type)
      type = (
        await admin.expect([200], "POST", `${cinder}/types`, { volume_type: { name: site, "os-volume-type-access:is_public": true } })
      ).volume_type;
    const want: Record<string, string> = { volume_backend_name: site, "image_service:store_id": site, "RESKEY:availability_zones": site };
    const have = (await admin.expect([200], "GET", `${cinder}/types/${type!.id}/extra_specs`)).extra_specs as Record<string, string>;
    if (Object.entries(want).some(([k, v]) => have[k] !== v)) {
      await admin.expect([200], "POST", `${cinder}/types/${type!.id}/extra_specs`, { extra_specs: want });
    }
  }
}

/**
 * The admin project's Cinder and Nova quotas lifted: each edge site's run holds a few volumes, snapshots and a
 * server at once, and the defaults (10 volumes, 10 snapshots) stop a run at 8 edge sites.
 */
export async function ensureQuotas(admin: LabAdmin): Promise<void> {
  const project = await admin.projectId();
  const cinder = await admin.endpoint("volumev3");
  const nova = await admin.endpoint("compute");
  await admin.expect([200], "PUT", `${cinder}/os-quota-sets/${project}`, {
    quota_set: { volumes: -1, snapshots: -1, gigabytes: -1, backups: -1, backup_gigabytes: -1 },
  });
  await admin.expect([200], "PUT", `${nova}/os-quota-sets/${project}`, { quota_set: { instances: -1, cores: -1, ram: -1 } });
}

/** The project's quotas back at Cinder's and Nova's defaults. */
export async function resetQuotas(admin: LabAdmin): Promise<void> {
  const project = await admin.projectId();
  await admin.expect([200, 202, 204], "DELETE", `${await admin.endpoint("volumev3")}/os-quota-sets/${project}`);
  await admin.expect([200, 202, 204], "DELETE", `${await admin.endpoint("compute")}/os-quota-sets/${project}`);
}

/** What the cloud still holds, in any project, as "N images" and the like: the resources that live in Ceph. */
export async function heldResources(admin: LabAdmin): Promise<string[]> {
  const [glance, cinder, nova] = await Promise.all(["image", "volumev3", "compute"].map((t) => admin.endpoint(t)));
  const lists: [string, string][] = [
    ["images", `${glance}/v2/images?limit=100`],
    ["volumes", `${cinder}/volumes?all_tenants=1&limit=100`],
    ["snapshots", `${cinder}/snapshots?all_tenants=1&limit=100`],
    ["backups", `${cinder}/backups?all_tenants=1&limit=100`],
    ["servers", `${nova}/servers?all_tenants=1&limit=100`],
  ];
  const counts = await Promise.all(
    lists.map(async ([what, url]) => [what, ((await admin.expect([200], "GET", url)) as Record<string, unknown[]>)[what]!.length] as const),
  );
  return counts.filter(([, n]) => n > 0).map(([what, n]) => `${n}${n === 100 ? "+" : ""} ${what}`);
}
