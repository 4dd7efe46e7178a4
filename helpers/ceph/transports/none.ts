import type { Transport, TransportDef } from "./common.ts";

/** Why a site with transport none has no Ceph evidence, in the words every report uses. */
export const noAccessReason = (reason?: string) => `no Ceph access (ceph.transport.kind none${reason ? `: ${reason}` : ""})`;

/**
 * The config says the runner cannot reach this site's Ceph (transport kind `none`): what needs it is
 * not verified, which is neither a failure of the cloud nor of its infrastructure.
 */
export class NoCephAccessError extends Error {
  constructor(
    readonly site: string,
    readonly reason?: string,
  ) {
    super(`[${site}] not verified: ${noAccessReason(reason)}`);
    this.name = "NoCephAccessError";
  }
}

export function isNoCephAccess(e: unknown): e is NoCephAccessError {
  return e instanceof NoCephAccessError || (e instanceof Error && e.name === "NoCephAccessError");
}

/** The runner cannot reach this site's Ceph: every command is refused with NoCephAccessError, nothing runs. */
export const none: TransportDef<"none"> = {
  view: () => ({ cluster: true, files: true }),
  open: (site): Transport => {
    const refuse = () => Promise.reject(new NoCephAccessError(site.name, site.ceph.transport.reason));
    return { command: refuse, exec: refuse, close: async () => {} };
  },
};
