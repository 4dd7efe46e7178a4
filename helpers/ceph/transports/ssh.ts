import {
  expandPrefix,
  isCephadmShell,
  shellJoin,
  type SshTransport,
  sshConnection,
  sshDisplay,
  type Transport,
  type TransportDef,
  type TransportSite,
} from "./common.ts";

/**
 * The ssh transport's prefix: its own, or the one its engine/sudo/container shorthand stands for. The shorthand's
 * container is cephadm's `ceph-{fsid}-mon-{host}` when the site's fsid is pinned, ceph-ansible's `ceph-mon-{host}` otherwise.
 */
export function sshPrefix(t: SshTransport, fsidPinned = false): string[] {
  if (t.prefix) return t.prefix;
  const container = t.container ?? (fsidPinned ? "ceph-{fsid}-mon-{host}" : "ceph-mon-{host}");
  return [...((t.sudo ?? true) ? ["sudo", "-n"] : []), t.engine ?? "podman", "exec", container];
}

export function sshTransport(site: TransportSite<SshTransport>, connectTimeoutS: number): Transport {
  const t = site.ceph.transport;
  const ssh = sshConnection(t, connectTimeoutS);
  const prefix = sshPrefix(t, Boolean(site.ceph.fsid));
  const remote = async (argv: string[]) => shellJoin([...(await expandPrefix(prefix, site, ssh.host)), ...argv]);
  return {
    command: async (argv) => sshDisplay(t, await remote(argv)),
    exec: async (argv, sinks) => ssh.run(await remote(argv), sinks),
    close: () => ssh.close(),
  };
}

/** ssh to a host of the site, then `<prefix> rbd|ceph …` there. */
export const ssh: TransportDef<"ssh"> = {
  view: (site) => {
    const t = site.ceph.transport;
    const cephadmContainer = !t.prefix && !t.container && Boolean(site.ceph.fsid);
    return { cluster: !(t.prefix ? isCephadmShell(t.prefix) : cephadmContainer), files: true };
  },
  open: (site, o) => sshTransport(site, o.connectTimeoutS),
};
