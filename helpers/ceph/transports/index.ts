import type { CephTransport } from "../../config/schema.ts";
import { cephadm } from "./cephadm.ts";
import { clientArgsIn, type OpenOptions, type Transport, type TransportDef, type TransportKind, type TransportSite } from "./common.ts";
import { container } from "./container.ts";
import { local } from "./local.ts";
import { none } from "./none.ts";
import { ssh } from "./ssh.ts";

/** Every transport kind the config accepts, with its implementation: a kind without one does not compile. */
export const TRANSPORTS: { [K in TransportKind]: TransportDef<K> } = { local, ssh, cephadm, container, none };

const defOf = <K extends TransportKind>(site: TransportSite<Extract<CephTransport, { kind: K }>>): TransportDef<K> =>
  TRANSPORTS[site.ceph.transport.kind as K];

/** The client options rbd and ceph get, ahead of the command's own words: what the site's config and its transport's view give. */
export const clientArgs = (site: TransportSite): string[] => clientArgsIn(site, defOf(site).view(site));

/** Opens the site's transport; with kind none, every command is refused with NoCephAccessError. */
export const openTransport = (site: TransportSite, o: OpenOptions): Transport => defOf(site).open(site, o);
