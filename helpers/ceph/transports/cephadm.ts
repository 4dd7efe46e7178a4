import {
  type CephadmTransport,
  shellJoin,
  sshConnection,
  sshDisplay,
  type Transport,
  type TransportDef,
  type TransportSite,
} from "./common.ts";

/**
 * `[sudo -n] cephadm shell --fsid <fsid> [--config C] [--keyring K] -- <argv>`: ceph.conf and ceph.keyring are
 * host paths that cephadm mounts as the shell's /etc/ceph/ceph.conf and ceph.keyring.
 */
export function cephadmArgv(site: TransportSite<CephadmTransport>, argv: string[]): string[] {
  const t = site.ceph.transport;
  const { fsid, conf, keyring } = site.ceph;
  if (!fsid) throw new Error(`${site.name}: the cephadm transport needs ceph.fsid (cephadm shell --fsid names the cluster)`);
  return [
    ...((t.sudo ?? true) ? ["sudo", "-n"] : []),
    t.command ?? "cephadm",
    "shell",
    "--fsid",
    fsid,
    ...(conf ? ["--config", conf] : []),
    ...(keyring ? ["--keyring", keyring] : []),
    "--",
    ...argv,
  ];
}

export function cephadmTransport(site: TransportSite<CephadmTransport>, connectTimeoutS: number): Transport {
  const t = site.ceph.transport;
  const ssh = sshConnection(t, connectTimeoutS);
  const remote = (argv: string[]) => shellJoin(cephadmArgv(site, argv));
  return {
    command: async (argv) => sshDisplay(t, remote(argv)),
    exec: async (argv, sinks) => ssh.run(remote(argv), sinks),
    close: () => ssh.close(),
  };
}

/**
 * ssh to a Ceph host of the site, then cephadm's shell of the cluster ceph.fsid names. The shell's /etc/ceph holds
 * only ceph.conf and ceph.keyring: rbd and ceph get no --cluster, and ceph.conf/ceph.keyring go to cephadm.
 */
export const cephadm: TransportDef<"cephadm"> = {
  view: () => ({ cluster: false, files: false }),
  open: (site, o) => cephadmTransport(site, o.connectTimeoutS),
};
