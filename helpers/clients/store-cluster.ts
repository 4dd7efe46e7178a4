import { type Image, locationForStore, parseRbdLocation, type StoreDetail } from "./image.ts";

/** The Ceph cluster a Glance store writes to, as Glance shows it, or why Glance does not tell. */
export type StoreCluster =
  | { kind: "fsid"; fsid: string; from: string; /** The image whose location named it. */ image?: string }
  /** Glance's stores detail says the store is not rbd: it writes to no Ceph cluster. */
  | { kind: "not-rbd"; type: string }
  | { kind: "unknown"; why: string };

/**
 * The cluster a store writes to: the fsid its stores detail reports, else the rbd location of an active image in it.
 * NOTE: stock Glance's stores detail gives an rbd store's pool, chunk size and thin provisioning, but no fsid
 * (`_get_rbd_properties`, glance/api/v2/discovery.py); an image's location names it: rbd://<fsid>/<pool>/<image>/<snap>.
 */
export function storeCluster(store: string, detail: StoreDetail[] | undefined, images: Image[]): StoreCluster {
  const d = detail?.find((s) => s.id === store);
  if (d && d.type !== "rbd") return { kind: "not-rbd", type: d.type };
  if (d?.properties.fsid) return { kind: "fsid", fsid: d.properties.fsid, from: "GET /v2/info/stores/detail" };
  const held = images.filter((i) => i.status === "active" && i.stores.includes(store));
  for (const i of held) {
    const url = locationForStore(i, store)?.url;
    if (!url?.startsWith("rbd://")) continue;
    try {
      return { kind: "fsid", fsid: parseRbdLocation(url).fsid, from: `image ${i.id}'s location ${url}`, image: i.id };
    } catch {
      // NOTE: a legacy location (rbd://<image>) names no cluster; another image's may.
    }
  }
  const fromDetail = detail ? "Glance's stores detail reports no fsid for it" : "Glance's stores detail was not read";
  const fromImages = held.length
    ? `none of the ${held.length} active image(s) in it shows an rbd location with its fsid (locations need show_multiple_locations and the admin role)`
    : "it holds no active image whose location would name the cluster";
  return { kind: "unknown", why: `${fromDetail}, and ${fromImages}` };
}
