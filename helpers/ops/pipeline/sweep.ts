import { type Clients, openSiteClients } from "../../clients/index.ts";
import { allSites } from "../../config/load.ts";
import type { Config } from "../../config/schema.ts";
import { timing } from "../../config/timing.ts";
import type { SweepLeftover } from "../../harness/model.ts";
import type { Reach } from "../../harness/reach.ts";
import { type RbdScan, scanRbdLeftovers } from "../../harness/rbd-leftovers.ts";
import { deleteAll, formatLeftover, leftoverOf, type ResourceJournal } from "../../harness/resources.ts";

export type { SweepLeftover };

/** A sweep leftover as the operator reads it: the resource, where, and why it would not go. */
export const formatSweepLeftover: (l: SweepLeftover) => string = formatLeftover;

/** Deletes, newest first, whatever the run's journal says was created and not deleted; returns what would not go. */
export async function sweep(clients: Clients, cfg: Config, journal: ResourceJournal): Promise<SweepLeftover[]> {
  // A site in a region of its own has its volumes and servers there: each is deleted through its site's clients.
  const regional = new Map<string, Clients | Error>();
  if (allSites(cfg).some((s) => s.region !== undefined))
    for (const s of allSites(cfg)) regional.set(s.name, await openSiteClients(cfg, s).catch((e: unknown) => e as Error));
  const clientsOf = (r: { site: string }) => {
    const c = regional.get(r.site) ?? clients;
    if (c instanceof Error) throw new Error(`the clients of site ${r.site} did not open: ${c.message}`);
    return c;
  };
  const { failed } = await deleteAll(clientsOf, journal.outstanding(), timing(cfg.timeouts, "deletion"), {
    journal,
    log: (line, r) => process.stderr.write(`[${r.site}] cleanup sweep: ${line}\n`),
  });
  return failed.map(leftoverOf);
}

/**
 * After the sweep: rbd images in any site's pools named after what the run created and the API has
 * deleted (Glance or Cinder forgot them below the API). The probes only read.
 */
export async function rbdLeftovers(
  cfg: Config,
  journal: ResourceJournal,
  log: (line: string) => void,
  reach: Reach = {},
): Promise<RbdScan> {
  // NOTE: an image-copy's deletion removes one store's copy: the image itself, and its rbd images elsewhere, stay.
  const deleted = journal.deleted().filter((r) => r.kind !== "image-copy");
  if (deleted.length) log(`looking in every site's pools for rbd images of the ${deleted.length} resources the run deleted`);
  const unreachable = Object.fromEntries(
    Object.values(reach).flatMap((r) =>
      r.state === "ok"
        ? []
        : [
            [
              r.site,
              r.state === "unreachable"
                ? "its Ceph did not answer"
                : r.state === "no-access"
                  ? r.reason
                  : "its probe reaches another cluster",
            ],
          ],
    ),
  );
  return scanRbdLeftovers(cfg, deleted, { wait: timing(cfg.timeouts, "deletion"), log, unreachable });
}
