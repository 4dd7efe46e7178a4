import { execa } from "execa";
import { CEPH_ETC } from "./ceph.ts";
import { LabAdmin } from "./os-admin.ts";
import { LabError } from "./procs.ts";
import { requireSite } from "./lifecycle.ts";
import { loadOrCreateSecrets, readState } from "./state.ts";

/**
 * One-shot changes to one object, as an upgrade gone wrong leaves them (issue 15's canaries): nothing to heal, and
 * lab status does not show them. Each is checked after it is made.
 *   flatten <pool>/<image>              the clone copies its parent's data and stops being a clone
 *   unprotect <pool>/<image>@<snap>     a snapshot without clones loses its protection
 *   write-byte <pool>/<image> [offset]  one byte of the image's data inverted (default offset 0)
 *   delete-from-store <image id>        Glance deletes the image's copy in the site's store only
 *   remove <pool>/<image>               the image and its snapshots gone from the cluster behind the API's back (a
 *                                       backup's data: the backup is still listed but no longer restores)
 */
export const MUTATIONS = ["flatten", "unprotect", "write-byte", "delete-from-store", "remove"] as const;
export type Mutation = (typeof MUTATIONS)[number];

const SPEC = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/;
const SNAP_SPEC = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)@([A-Za-z0-9_.-]+)$/;

async function rbd(site: string, ...args: string[]): Promise<string> {
  const r = await execa("rbd", ["--cluster", site, ...args], { reject: false, timeout: 120000 });
  if (r.exitCode !== 0) throw new LabError(`rbd --cluster ${site} ${args.join(" ")} failed: ${r.stderr.trim()}`, `ceph-${site}`);
  return r.stdout;
}

function spec(re: RegExp, target: string | undefined, form: string): RegExpExecArray {
  const m = target ? re.exec(target) : null;
  if (!m) throw new LabError(`expected ${form}, got '${target ?? ""}'`);
  return m;
}

// NOTE: the rbd CLI has no byte write; the Python bindings Ceph ships do it as the cluster's admin.
const WRITE_BYTE = `
import rados, rbd, sys
conf, pool, name, off = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
with rados.Rados(conffile=conf) as c:
    with c.open_ioctx(pool) as io:
        with rbd.Image(io, name) as im:
            if off >= im.size():
                sys.exit(f"offset {off} is past the end of {pool}/{name} ({im.size()} bytes)")
            b = im.read(off, 1)[0]
            im.write(bytes([b ^ 0xFF]), off)
            im.flush()
            print(f"{b} {b ^ 0xFF}")
`;

/** What each mutation does at a site, and what it returns: what it did, in a line. */
const MUTATE = {
  flatten: async (site, target) => {
    const [, pool, image] = spec(SPEC, target, "<pool>/<image>");
    const parent = (JSON.parse(await rbd(site, "info", "--format", "json", `${pool}/${image}`)) as { parent?: unknown }).parent;
    if (!parent) throw new LabError(`${pool}/${image} at ${site} is not a clone: nothing to flatten`);
    await rbd(site, "flatten", `${pool}/${image}`);
    if ((JSON.parse(await rbd(site, "info", "--format", "json", `${pool}/${image}`)) as { parent?: unknown }).parent)
      throw new LabError(`${pool}/${image} at ${site} still has a parent after rbd flatten`);
    return `${pool}/${image} at ${site} flattened: no longer a clone`;
  },
  unprotect: async (site, target) => {
    const [, pool, image, snap] = spec(SNAP_SPEC, target, "<pool>/<image>@<snap>");
    const children = (await rbd(site, "children", `${pool}/${image}@${snap}`)).trim();
    if (children)
      throw new LabError(
        `${pool}/${image}@${snap} at ${site} has clones (${children.split("\n").join(", ")}): Ceph refuses to unprotect it; flatten them first`,
      );
    await rbd(site, "snap", "unprotect", `${pool}/${image}@${snap}`);
    const snaps = JSON.parse(await rbd(site, "snap", "ls", "--format", "json", `${pool}/${image}`)) as {
      name: string;
      protected: string;
    }[];
    if (snaps.find((s) => s.name === snap)?.protected !== "false")
      throw new LabError(`${pool}/${image}@${snap} at ${site} is still protected after rbd snap unprotect`);
    return `${pool}/${image}@${snap} at ${site} unprotected`;
  },
  "write-byte": async (site, target, offset) => {
    const [, pool, image] = spec(SPEC, target, "<pool>/<image>");
    if (!Number.isInteger(offset) || offset < 0) throw new LabError(`--offset: expected a whole number of bytes, got ${offset}`);
    const r = await execa("/usr/bin/python3", ["-c", WRITE_BYTE, `${CEPH_ETC}/${site}.conf`, pool!, image!, String(offset)], {
      reject: false,
      timeout: 120000,
    });
    if (r.exitCode !== 0)
      throw new LabError(`write-byte ${pool}/${image} at ${site}: ${r.stderr.trim().split("\n").at(-1)}`, `ceph-${site}`);
    const [was, now] = r.stdout.trim().split(" ");
    return `${pool}/${image} at ${site}: the byte at offset ${offset} was ${was}, is ${now}`;
  },
  remove: async (site, target) => {
    const [, pool, image] = spec(SPEC, target, "<pool>/<image>");
    const snaps = JSON.parse(await rbd(site, "snap", "ls", "--format", "json", `${pool}/${image}`)) as {
      name: string;
      protected: string;
    }[];
    const kept = snaps.filter((x) => x.protected === "true");
    if (kept.length)
      throw new LabError(
        `${pool}/${image} at ${site} has protected snapshots (${kept.map((x) => x.name).join(", ")}): Ceph refuses to remove it`,
      );
    if (snaps.length) await rbd(site, "snap", "purge", `${pool}/${image}`);
    await rbd(site, "rm", "--no-progress", `${pool}/${image}`);
    if ((await rbd(site, "ls", pool!)).split("\n").includes(image!))
      throw new LabError(`${pool}/${image} at ${site} is still listed after rbd rm`);
    return `${pool}/${image} at ${site} removed with its ${snaps.length} snapshot(s)`;
  },
  "delete-from-store": async (site, target) => {
    if (!target || !/^[0-9a-f-]{36}$/.test(target)) throw new LabError(`expected an image id, got '${target ?? ""}'`);
    const admin = new LabAdmin(loadOrCreateSecrets().admin);
    const glance = await admin.endpoint("image");
    // NOTE: the lab's Glance stores are named after their sites.
    await admin.expect([204], "DELETE", `${glance}/v2/stores/${site}/${target}`);
    const stores = String((await admin.expect<{ stores?: string }>([200], "GET", `${glance}/v2/images/${target}`)).stores ?? "");
    if (stores.split(",").includes(site)) throw new LabError(`image ${target} still lists store ${site} after the delete`);
    return `image ${target} deleted from store ${site}; its stores: ${stores || "(none)"}`;
  },
} satisfies Record<Mutation, (site: string, target: string | undefined, offset: number) => Promise<string>>;

/** Applies one mutation at a site and returns what it did, in a line. */
export async function mutate(site: string, action: string, target: string | undefined, offset = 0): Promise<string> {
  const state = readState();
  if (!state) throw new LabError("the lab is not up: run 'dcn-verify lab up' first");
  requireSite(state, site);
  if (!MUTATIONS.includes(action as Mutation)) throw new LabError(`unknown mutation '${action}': one of ${MUTATIONS.join(", ")}`);
  return MUTATE[action as Mutation](site, target, offset);
}
