import { randomBytes } from "node:crypto";
import { computeHost } from "./services/nova.ts";
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

/** The lab's flavor, and any other the profile's example config names (e.g. m1.small), each 256 MiB, 1 vCPU, no disk. */
export async function ensureFlavor(admin: LabAdmin, names: string[] = [LAB_FLAVOR]): Promise<void> {
  const nova = await admin.endpoint("compute");
  const list = await admin.expect([200], "GET", `${nova}/flavors`);
  for (const name of names) {
    if ((list.flavors as { name: string }[]).some((f) => f.name === name)) continue;
    await admin.expect([200], "POST", `${nova}/flavors`, { flavor: { name, ram: 256, vcpus: 1, disk: 0 } });
  }
}

/** One volume type per site: its backend, and the Glance store volume uploads go to (each named as the profile names them). */
export async function ensureVolumeTypes(admin: LabAdmin, sites: string[], store: (site: string) => string = (s) => s): Promise<void> {
  const cinder = await admin.endpoint("volumev3");
  const list = await admin.expect([200], "GET", `${cinder}/types`);
  for (const site of sites) {
    let type = (list.volume_types as { id: string; name: string }[]).find((t) => t.name === site);
    if (!type)
      type = (
        await admin.expect([200], "POST", `${cinder}/types`, { volume_type: { name: site, "os-volume-type-access:is_public": true } })
      ).volume_type;
    const want: Record<string, string> = {
      volume_backend_name: store(site),
      "image_service:store_id": store(site),
      "RESKEY:availability_zones": site,
    };
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
  // NOTE: the lab's own operator images are not held: removeOperatorImages takes them, and up makes them again.
  const counts = await Promise.all(
    lists.map(async ([what, url]) => {
      const items = ((await admin.expect([200], "GET", url)) as Record<string, { name?: string }[]>)[what]!;
      return [what, items.filter((i) => !(what === "images" && isOperatorImage(i.name))).length] as const;
    }),
  );
  return counts.filter(([, n]) => n > 0).map(([what, n]) => `${n}${n === 100 ? "+" : ""} ${what}`);
}

/** The images an operator of a DCN cloud keeps in its stores, which the DCN rules judge: none is the harness's. */
export const OPERATOR_IMAGES = { base: "lab-operator-base", edgeUpload: (edge: string) => `lab-operator-${edge}-upload` };

const isOperatorImage = (name: string | undefined) => name?.startsWith("lab-operator-") ?? false;

/** Deletes the lab's operator images (before the clusters that hold them go); returns what Glance would not delete. */
export async function removeOperatorImages(admin: LabAdmin, keep: (name: string) => boolean = () => false): Promise<string[]> {
  const glance = await admin.endpoint("image");
  const list = (await admin.expect([200], "GET", `${glance}/v2/images?limit=1000`)).images as GlanceImage[];
  const failed: string[] = [];
  for (const i of list.filter((x) => isOperatorImage(x.name) && !keep(x.name))) {
    const r = await admin.request("DELETE", `${glance}/v2/images/${i.id}`);
    if (r.status !== 204 && r.status !== 404) failed.push(`${i.name} (${i.id}): HTTP ${r.status}`);
  }
  return failed;
}

interface GlanceImage {
  id: string;
  name: string;
  status: string;
  stores?: string;
}

/**
 * The operator's images a DCN cloud holds at its edges, as the DCN guide has them made: a base image uploaded to
 * central and copied to every edge, and at each edge an image uploaded there and copied to central first. Without
 * them rules 2-4 have nothing of the operator's to judge. Kept across lab ups; made again when one is not whole.
 */
export async function ensureOperatorImages(
  admin: LabAdmin,
  sites: string[],
  store: (site: string) => string = (s) => s,
  timeoutMs = 180000,
): Promise<void> {
  const glance = await admin.endpoint("image");
  const [central, ...edges] = sites;
  const wanted = [
    { name: OPERATOR_IMAGES.base, uploadTo: store(central!), copies: [edges.map(store)] },
    ...edges.map((e) => ({ name: OPERATOR_IMAGES.edgeUpload(e), uploadTo: store(e), copies: [[store(central!)]] })),
  ];
  const failed = await removeOperatorImages(admin, (name) => wanted.some((w) => w.name === name));
  if (failed.length) throw new LabError(`the lab's operator images of sites it no longer has would not delete: ${failed.join(", ")}`);
  const list = (await admin.expect([200], "GET", `${glance}/v2/images?limit=1000`)).images as GlanceImage[];
  const storesOf = (i: GlanceImage) => (i.stores ?? "").split(",").filter(Boolean);
  // NOTE: one image after the other: Glance's import call records its task on the image (image_set_property_atomic), and
  // two of them at once for two images ended in a MariaDB deadlock, answered HTTP 500 (CI at 5ceaf9a).
  for (const w of wanted) {
    const all = [w.uploadTo, ...w.copies.flat()];
    const have = list.filter((i) => i.name === w.name);
    if (have.length === 1 && have[0]!.status === "active" && all.every((s) => storesOf(have[0]!).includes(s))) continue;
    for (const old of have) await admin.expect([204, 404], "DELETE", `${glance}/v2/images/${old.id}`);
    const img = (await admin.expect([201], "POST", `${glance}/v2/images`, {
      name: w.name,
      disk_format: "raw",
      container_format: "bare",
      visibility: w.name === OPERATOR_IMAGES.base ? "public" : "private",
    })) as GlanceImage;
    await admin.expect([204], "PUT", `${glance}/v2/images/${img.id}/file`, randomBytes(1024 * 1024), {
      "Content-Type": "application/octet-stream",
      "X-Image-Meta-Store": w.uploadTo,
    });
    await imageIn(admin, glance, img.id, [w.uploadTo], timeoutMs);
    let held = [w.uploadTo];
    for (const stores of w.copies) {
      if (!stores.length) continue;
      await admin.expect([202], "POST", `${glance}/v2/images/${img.id}/import`, {
        method: { name: "copy-image" },
        stores,
        all_stores_must_succeed: true,
      });
      held = [...held, ...stores];
      await imageIn(admin, glance, img.id, held, timeoutMs);
    }
  }
}

async function imageIn(admin: LabAdmin, glance: string, id: string, stores: string[], timeoutMs: number): Promise<void> {
  const start = Date.now();
  let last: Record<string, unknown> = {};
  while (Date.now() - start < timeoutMs) {
    last = await admin.expect([200], "GET", `${glance}/v2/images/${id}`);
    const have = String(last.stores ?? "").split(",");
    if (last.status === "active" && stores.every((s) => have.includes(s))) return;
    if (last.status === "killed" || String(last.os_glance_failed_import ?? "")) break;
    await sleep(500);
  }
  throw new LabError(
    `the operator's image ${id} did not become active in stores ${stores.join(", ")} within ${timeoutMs / 1000} s ` +
      `(status ${String(last.status)}, stores ${String(last.stores ?? "")}, failed ${String(last.os_glance_failed_import ?? "")})`,
  );
}

/**
 * Makes Nova and Cinder forget sites a reshape renames: each site's host aggregate (its host taken out first), its
 * nova-compute service (and with it its resource provider) and its volume type.
 */
export async function removeSites(admin: LabAdmin, sites: string[]): Promise<void> {
  const nova = await admin.endpoint("compute");
  const aggs = (await admin.expect([200], "GET", `${nova}/os-aggregates`)).aggregates as { id: number; name: string; hosts: string[] }[];
  for (const agg of aggs.filter((a) => sites.includes(a.name))) {
    for (const host of agg.hosts ?? [])
      await admin.expect([200], "POST", `${nova}/os-aggregates/${agg.id}/action`, { remove_host: { host } });
    await admin.expect([200, 204], "DELETE", `${nova}/os-aggregates/${agg.id}`);
  }
  const computes = (await admin.expect([200], "GET", `${nova}/os-services?binary=nova-compute`)).services as {
    id: string | number;
    host: string;
  }[];
  for (const svc of computes.filter((c) => sites.some((s) => computeHost(s) === c.host)))
    await admin.expect([204], "DELETE", `${nova}/os-services/${svc.id}`);
  const cinder = await admin.endpoint("volumev3");
  const types = (await admin.expect([200], "GET", `${cinder}/types`)).volume_types as { id: string; name: string }[];
  for (const t of types.filter((x) => sites.includes(x.name))) await admin.expect([202], "DELETE", `${cinder}/types/${t.id}`);
}
