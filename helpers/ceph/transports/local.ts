import { hostname } from "node:os";
import { join } from "node:path";
import {
  execaRun,
  expandPrefix,
  isCephadmShell,
  shellJoin,
  type Transport,
  type TransportDef,
  type TransportOf,
  type TransportSite,
} from "./common.ts";

export function localTransport(site: TransportSite<TransportOf<"local">>): Transport {
  const t = site.ceph.transport;
  const full = (argv: string[]) => expandPrefix(t.prefix ?? [], site, async () => hostname().split(".")[0]!).then((p) => [...p, ...argv]);
  return {
    command: async (argv) => shellJoin(await full(argv)),
    exec: async (argv, sinks) => {
      const [file, ...args] = await full(argv);
      return execaRun(file!, args, sinks);
    },
    close: async () => {},
  };
}

/** rbd and ceph on the runner, behind the prefix if any; confDir holds <cluster>.conf. */
export const local: TransportDef<"local"> = {
  view: (site) => {
    const t = site.ceph.transport;
    return {
      cluster: !isCephadmShell(t.prefix ?? []),
      files: true,
      conf: t.confDir ? join(t.confDir, `${site.ceph.cluster}.conf`) : undefined,
    };
  },
  open: (site) => localTransport(site),
};
