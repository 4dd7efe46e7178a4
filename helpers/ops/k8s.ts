/**
 * The Kubernetes objects an operator applies to run dcn-verify in the cluster, as plain objects typed by the
 * kubernetes-models package (its interfaces only: nothing of it is loaded at run time), and YAML of them.
 *
 * Every pod reads the config file verbatim from a ConfigMap (/etc/dcn-verify/config.yaml, $DCN_VERIFY_CONFIG) with an
 * overlay beside it ($DCN_VERIFY_OVERLAY) that points the config's paths at the pod's mounts: clouds.yaml and
 * secure.yaml from test-operator's `openstack-config` ConfigMap and `openstack-config-secret` Secret, the CA bundle
 * from `combined-ca-bundle`, and Ceph access from an ssh key Secret or a Secret of ceph.conf and keyrings. Reports go
 * to a PersistentVolumeClaim. The pods run as any non-root UID (OpenShift's restricted-v2 assigns one, with group 0),
 * with a read-only root, no capabilities, and HOME=/tmp on an emptyDir.
 */
import { basename } from "node:path";
import type { ICronJob, IJob } from "kubernetes-models/batch/v1";
import type {
  IConfigMap,
  IContainer,
  IEnvVar,
  IPersistentVolumeClaim,
  IPodSpec,
  IService,
  IVolume,
  IVolumeMount,
} from "kubernetes-models/v1";
import { stringify } from "yaml";
import type { Config, Site } from "../config/schema.ts";
import { TIERS } from "../harness/model.ts";
import type { Selection } from "./selection.ts";

/** Where the pods find what they read and write. */
export const POD_PATHS = {
  /** The ConfigMap: config.yaml, the overlays, known_hosts. */
  config: "/etc/dcn-verify",
  reports: "/var/lib/dcn-verify/reports",
  tmp: "/tmp",
  clouds: "/etc/openstack/clouds.yaml",
  secure: "/etc/openstack/secure.yaml",
  caBundle: "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
  /** The ssh key Secret, whole: its key ssh-privatekey is the private key (kubernetes.io/ssh-auth). */
  sshKeyDir: "/etc/dcn-verify-ssh",
  sshKey: "/etc/dcn-verify-ssh/ssh-privatekey",
  /** The Secret of <cluster>.conf and <cluster>.client.<user>.keyring files (RHOSO's ceph-conf-files). */
  cephConf: "/etc/ceph",
} as const;

/** The image server's port in the pod; Glance reaches it through a Service on port 80 (stock allowed_ports: 80, 443). */
export const WEB_DOWNLOAD_PORT = 8080;

/** How the pods reach the sites' Ceph: an ssh key (transports ssh, cephadm, container over ssh://), or ceph.conf and keyrings (local). */
export interface CephAccess {
  kind: "ssh-key" | "ceph-conf";
  secret: string;
}

export type AccessMode = "ReadWriteOnce" | "ReadWriteMany" | "ReadWriteOncePod";

export interface K8sOptions {
  image: string;
  namespace: string;
  /** Every object's name starts with it. */
  prefix: string;
  /** The config file's text, shipped verbatim. */
  configText: string;
  /** A known_hosts file's text, for the ssh transports' host key checks. */
  knownHosts?: string;
  /** `dcn-verify run` options besides --config, --overlay, --reports, --shard and --group, and what they select. */
  run: { args: string[]; selection: Pick<Selection, "suites" | "tier"> };
  /** A CronJob of the run. */
  schedule?: { cron: string; timeZone: string };
  /** A fleet: an Indexed Job of count shards, at most parallelism at once, and a Job that merges them. */
  shards?: { count: number; parallelism: number; group: string };
  /** A CronJob of `canary verify --tier read-only` of this set. */
  canary?: { set: string; cron: string; timeZone: string };
  ceph: CephAccess[];
  openstack: { configMap: string; secret: string; caBundle?: string };
  reports: { size: string; storageClass?: string; accessMode: AccessMode };
  /** activeDeadlineSeconds of a run. */
  deadlineSeconds: number;
  /** The pods' fsGroup: unset, OpenShift's SCC assigns one; elsewhere, what makes the Secrets and the volume readable. */
  fsGroup?: number;
  /** The address the image server listens on in the pod (0.0.0.0; `::` on an IPv6 cluster). */
  webDownloadBind: string;
  /** The dcn-verify version, for the labels. */
  version: string;
}

export const K8S_DEFAULTS = {
  namespace: "openstack",
  prefix: "dcn-verify",
  timeZone: "Etc/UTC",
  canarySchedule: "*/30 * * * *",
  openstackConfigMap: "openstack-config",
  openstackConfigSecret: "openstack-config-secret",
  caBundle: "combined-ca-bundle",
  reportsSize: "5Gi",
  deadlineSeconds: 3 * 3600,
  webDownloadBind: "0.0.0.0",
} as const;

export const imageOf = (version: string) => `localhost/dcn-verify:${version}`;

/** Input the manifests cannot be made from; field names the option or the config field to change. */
export class RenderError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "RenderError";
  }
}

export type Manifest = IConfigMap | IPersistentVolumeClaim | IService | IJob | ICronJob;

type Json = Record<string, unknown>;

const siteWhere = (cfg: Config, s: Site) => (s === cfg.central ? "central" : `edges[${cfg.edges.indexOf(s)}]`);

/**
 * The overlay (helpers/config/overlay.ts) that points the config's paths at the pod's mounts, or why the config cannot
 * run in a pod: a local file it names that no mount holds, a container engine's socket, a transport the --ceph
 * Secrets do not serve.
 */
export function podOverlay(cfg: Config, o: Pick<K8sOptions, "ceph" | "knownHosts">): Json {
  if ("fromEnv" in cfg.cloud)
    throw new RenderError(
      "cloud.fromEnv",
      "a pod has no OS_* variables: name the clouds.yaml entry (cloud: default, as RHOSO's openstack-config holds it)",
    );
  const nonAdmin = cfg.conformance.nonAdminCloud;
  if (nonAdmin && "fromEnv" in nonAdmin)
    throw new RenderError("conformance.nonAdminCloud.fromEnv", "a pod has no OS_* variables: name an entry of the mounted clouds.yaml");
  if (nonAdmin && "cloudsFile" in nonAdmin && nonAdmin.cloudsFile)
    throw new RenderError(
      "conformance.nonAdminCloud.cloudsFile",
      `the pod cannot read ${nonAdmin.cloudsFile}: leave cloudsFile out, so that the entry is looked up in ${POD_PATHS.clouds}`,
    );
  if ("path" in cfg.image.source)
    throw new RenderError(
      "image.source.path",
      `the pod cannot read ${cfg.image.source.path}: use generated, or a url the pod can download`,
    );
  const sshKey = o.ceph.find((c) => c.kind === "ssh-key");
  const cephConf = o.ceph.find((c) => c.kind === "ceph-conf");
  const overSsh: string[] = [];
  const overConf: string[] = [];
  const sites: { name: string; ceph: Json; transport: Json }[] = [];
  for (const s of [cfg.central, ...cfg.edges]) {
    const where = `${siteWhere(cfg, s)}.ceph`;
    const t = s.ceph.transport;
    const ceph: Json = {};
    const transport: Json = {};
    const viaSsh = (hostKeyChecking: string | undefined, host: string) => {
      overSsh.push(s.name);
      transport.identityFile = POD_PATHS.sshKey;
      if (hostKeyChecking === "off") return;
      if (o.knownHosts !== undefined) transport.knownHostsFile = `${POD_PATHS.config}/known_hosts`;
      else if (hostKeyChecking === "accept-new") transport.knownHostsFile = `${POD_PATHS.tmp}/known_hosts`;
      else
        throw new RenderError(
          "--known-hosts",
          `site ${s.name} checks the key of ${host} against known_hosts (${where}.transport.hostKeyChecking strict, the default): give a known_hosts file that holds it`,
        );
    };
    switch (t.kind) {
      case "none":
        continue;
      case "local":
        if (t.prefix?.length)
          throw new RenderError(
            `${where}.transport.prefix`,
            `site ${s.name} runs rbd behind '${t.prefix.join(" ")}', which the pod (no privilege, no container engine) cannot run: leave prefix out`,
          );
        overConf.push(s.name);
        if (t.confDir) transport.confDir = POD_PATHS.cephConf;
        if (s.ceph.conf) ceph.conf = `${POD_PATHS.cephConf}/${basename(s.ceph.conf)}`;
        if (s.ceph.keyring) ceph.keyring = `${POD_PATHS.cephConf}/${basename(s.ceph.keyring)}`;
        break;
      case "ssh":
      case "cephadm":
        viaSsh(t.hostKeyChecking, t.host);
        if (t.jumpHost && "identityFile" in t.jumpHost && t.jumpHost.identityFile)
          transport.jumpHost = { ...t.jumpHost, identityFile: POD_PATHS.sshKey };
        break;
      case "container":
        if (t.socketPath)
          throw new RenderError(
            `${where}.transport.socketPath`,
            `site ${s.name} reaches its Ceph container through ${t.socketPath}, which a pod has no access to: use ssh or cephadm, or url: ssh://…`,
          );
        if (t.tls)
          throw new RenderError(
            `${where}.transport.tls`,
            `site ${s.name}'s engine API takes client certificates, which the manifests do not mount: use ssh or cephadm, or url: ssh://…`,
          );
        if (t.url) viaSsh(t.hostKeyChecking, t.url);
        break;
      default: {
        // A transport kind the pod's manifests do not know fails to compile here.
        const unknown: never = t;
        throw new RenderError(`${where}.transport.kind`, `unknown transport ${JSON.stringify(unknown)}`);
      }
    }
    if (Object.keys(ceph).length || Object.keys(transport).length) sites.push({ name: s.name, ceph, transport });
  }
  const list = (names: string[]) => names.join(", ");
  if (overSsh.length && !sshKey)
    throw new RenderError(
      "--ceph",
      `${list(overSsh)} reach${overSsh.length === 1 ? "es" : ""} Ceph over ssh: give ssh-key:SECRET, the Secret whose ssh-privatekey logs in there (RHOSO: dataplane-ansible-ssh-private-key-secret)`,
    );
  if (overConf.length && !cephConf)
    throw new RenderError(
      "--ceph",
      `${list(overConf)} run${overConf.length === 1 ? "s" : ""} rbd in the pod (transport local): give ceph-conf:SECRET, the Secret of their <cluster>.conf and keyrings (RHOSO: ceph-conf-files)`,
    );
  if (sshKey && !overSsh.length) throw new RenderError("--ceph", `ssh-key:${sshKey.secret}: no site reaches its Ceph over ssh`);
  if (cephConf && !overConf.length)
    throw new RenderError("--ceph", `ceph-conf:${cephConf.secret}: no site runs rbd in the pod (transport local)`);
  const siteOverlay = (x: (typeof sites)[number]) => ({
    name: x.name,
    ceph: { ...x.ceph, ...(Object.keys(x.transport).length ? { transport: x.transport } : {}) },
  });
  const central = sites.find((x) => x.name === cfg.central.name);
  const edges = sites.filter((x) => x !== central);
  return {
    cloud: { cloudsFile: POD_PATHS.clouds },
    ...(central ? { central: siteOverlay(central) } : {}),
    ...(edges.length ? { edges: edges.map(siteOverlay) } : {}),
  };
}

/** Whether a run of this selection serves Glance's web-download itself (helpers/ops/pipeline/prepare.ts starts its image server). */
export function servesWebDownload(cfg: Config, sel: Pick<Selection, "suites" | "tier">): boolean {
  return !cfg.webDownload.uri && sel.suites.includes("multistore") && TIERS.indexOf(sel.tier) >= TIERS.indexOf("standard");
}

/** The overlay of a pod whose run serves web-download: its image server listens in the pod, Glance fetches through the Service. */
export function webDownloadOverlay(overlay: Json, o: Pick<K8sOptions, "webDownloadBind" | "namespace">, service: string): Json {
  return {
    ...overlay,
    webDownload: { bind: o.webDownloadBind, port: WEB_DOWNLOAD_PORT, advertiseUrl: `http://${service}.${o.namespace}.svc` },
  };
}

/**
 * The shard's command: index JOB_COMPLETION_INDEX (0 to n-1, which the Indexed Job sets) runs `--shard index+1/n`, its
 * reports under <reports>/shards/<group>/<index+1>. Arguments: reports, group, n, then run's own options.
 */
export const SHARD_SCRIPT = `set -eu
reports=$1 group=$2 count=$3
shift 3
shard=$((JOB_COMPLETION_INDEX + 1))
# The image's entry point gives an arbitrary UID a passwd entry (ssh needs one) before it runs dcn-verify.
run=$(command -v dcn-verify-entrypoint || command -v dcn-verify)
exec "$run" run --shard "$shard/$count" --group "$group" --reports "$reports/shards/$group/$shard" "$@"
`;

/**
 * The merge's command: waits until every shard 1..n of the group has written its summary.json, then merges the shards'
 * run directories into <reports>. Arguments: reports, group, n, seconds between looks.
 */
export const MERGE_SCRIPT = `set -eu
reports=$1 group=$2 count=$3 every=$4
dir="$reports/shards/$group"
waited=0
while :; do
  missing=""
  i=1
  while [ "$i" -le "$count" ]; do
    found=""
    for s in "$dir/$i"/*/summary.json; do [ -e "$s" ] && found=1; done
    [ -n "$found" ] || missing="$missing $i"
    i=$((i + 1))
  done
  [ -z "$missing" ] && break
  if [ $((waited % 300)) -eq 0 ]; then
    echo "dcn-verify merge: waiting for the summary of shard(s)$missing of $count, group $group, in $dir" >&2
  fi
  sleep "$every"
  waited=$((waited + every))
done
set --
for s in "$dir"/*/*/summary.json; do set -- "$@" "\${s%/summary.json}"; done
run=$(command -v dcn-verify-entrypoint || command -v dcn-verify)
exec "$run" merge "$@" --reports "$reports"
`;

const NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** The names of the objects. */
export function namesOf(o: Pick<K8sOptions, "prefix" | "shards">) {
  const p = o.prefix;
  const names = {
    config: `${p}-config`,
    reports: `${p}-reports`,
    run: `${p}-run`,
    runWeb: `${p}-run-web`,
    scheduled: `${p}-scheduled`,
    scheduledWeb: `${p}-scheduled-web`,
    canary: `${p}-canary`,
    ...(o.shards
      ? { shards: `${p}-${o.shards.group}-shards`, shardsWeb: `${p}-${o.shards.group}-web`, merge: `${p}-${o.shards.group}-merge` }
      : {}),
  };
  if (!NAME.test(p)) throw new RenderError("--name-prefix", `'${p}': lowercase letters, digits and '-', starting with a letter`);
  return names;
}

type Component = "config" | "reports" | "run" | "scheduled" | "shard" | "merge" | "canary";

function labelsOf(o: K8sOptions, component: Component, group?: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": "dcn-verify",
    "app.kubernetes.io/instance": o.prefix,
    "app.kubernetes.io/component": component,
    "app.kubernetes.io/version": o.version.replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 63),
    "app.kubernetes.io/managed-by": "dcn-verify-render",
    ...(group ? { "dcn-verify/group": group } : {}),
  };
}

/** What a pod of this workload runs: its args (the image's entry point runs dcn-verify) or a shell command. */
interface Workload {
  component: Component;
  group?: string;
  overlayFile: string;
  command?: string[];
  args: string[];
  /** It reads the cloud (clouds.yaml, secure.yaml, the CA bundle). */
  cloud: boolean;
  /** It reads the sites' Ceph (the --ceph Secrets). */
  ceph: boolean;
  /** Its run serves web-download (the container's port). */
  web: boolean;
}

function podSpec(o: K8sOptions, names: ReturnType<typeof namesOf>, w: Workload, graceSeconds: number): IPodSpec {
  const sshKey = w.ceph ? o.ceph.find((c) => c.kind === "ssh-key") : undefined;
  const cephConf = w.ceph ? o.ceph.find((c) => c.kind === "ceph-conf") : undefined;
  const ca = w.cloud ? o.openstack.caBundle : undefined;
  const cloud = w.cloud ? o.openstack : undefined;
  const volumes: IVolume[] = [
    { name: "config", configMap: { name: names.config } },
    { name: "tmp", emptyDir: {} },
    { name: "reports", persistentVolumeClaim: { claimName: names.reports } },
    ...(cloud
      ? [
          { name: "openstack-config", configMap: { name: cloud.configMap } },
          { name: "openstack-config-secret", secret: { secretName: cloud.secret } },
        ]
      : []),
    ...(ca ? [{ name: "ca-bundle", secret: { secretName: ca } }] : []),
    ...(sshKey ? [{ name: "ssh-key", secret: { secretName: sshKey.secret, defaultMode: 0o400 } }] : []),
    ...(cephConf ? [{ name: "ceph-conf", secret: { secretName: cephConf.secret, defaultMode: 0o440 } }] : []),
  ];
  const mounts: IVolumeMount[] = [
    { name: "config", mountPath: POD_PATHS.config, readOnly: true },
    { name: "tmp", mountPath: POD_PATHS.tmp },
    { name: "reports", mountPath: POD_PATHS.reports },
    ...(cloud
      ? [
          { name: "openstack-config", mountPath: POD_PATHS.clouds, subPath: "clouds.yaml", readOnly: true },
          { name: "openstack-config-secret", mountPath: POD_PATHS.secure, subPath: "secure.yaml", readOnly: true },
        ]
      : []),
    ...(ca ? [{ name: "ca-bundle", mountPath: POD_PATHS.caBundle, subPath: "tls-ca-bundle.pem", readOnly: true }] : []),
    ...(sshKey ? [{ name: "ssh-key", mountPath: POD_PATHS.sshKeyDir, readOnly: true }] : []),
    ...(cephConf ? [{ name: "ceph-conf", mountPath: POD_PATHS.cephConf, readOnly: true }] : []),
  ];
  const env: IEnvVar[] = [
    { name: "HOME", value: POD_PATHS.tmp },
    { name: "XDG_CACHE_HOME", value: `${POD_PATHS.tmp}/.cache` },
    { name: "DCN_VERIFY_CONFIG", value: `${POD_PATHS.config}/config.yaml` },
    { name: "DCN_VERIFY_OVERLAY", value: `${POD_PATHS.config}/${w.overlayFile}` },
    // NOTE: Node trusts its own CA list, not the system's: the cloud's CA comes in through NODE_EXTRA_CA_CERTS.
    ...(ca ? [{ name: "NODE_EXTRA_CA_CERTS", value: POD_PATHS.caBundle }] : []),
  ];
  const container: IContainer = {
    name: "dcn-verify",
    image: o.image,
    imagePullPolicy: "IfNotPresent",
    ...(w.command ? { command: w.command } : {}),
    args: w.args,
    env,
    volumeMounts: mounts,
    ...(w.web ? { ports: [{ name: "web-download", containerPort: WEB_DOWNLOAD_PORT, protocol: "TCP" as const }] } : {}),
    resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { memory: "4Gi" } },
    securityContext: {
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    },
  };
  return {
    restartPolicy: "Never",
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    // NOTE: on SIGTERM (deadline, deletion) a run starts no new step and deletes what it made: give it the time.
    terminationGracePeriodSeconds: graceSeconds,
    securityContext: {
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
      ...(o.fsGroup !== undefined ? { fsGroup: o.fsGroup } : {}),
    },
    containers: [container],
    volumes,
  };
}

/** A Service on port 80 to the pods of one workload's image server: what Glance's web-download fetches from. */
function webService(o: K8sOptions, name: string, selector: Record<string, string>): IService {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name,
      namespace: o.namespace,
      labels: labelsOf(o, selector["app.kubernetes.io/component"] as Component, selector["dcn-verify/group"]),
    },
    spec: { selector, ports: [{ name: "web-download", port: 80, targetPort: "web-download", protocol: "TCP" }] },
  };
}

function selectorOf(o: K8sOptions, component: Component, group?: string): Record<string, string> {
  const l = labelsOf(o, component, group);
  return {
    "app.kubernetes.io/name": l["app.kubernetes.io/name"]!,
    "app.kubernetes.io/instance": l["app.kubernetes.io/instance"]!,
    "app.kubernetes.io/component": component,
    ...(group ? { "dcn-verify/group": group } : {}),
  };
}

/**
 * The manifests, in the order to apply them: the ConfigMap and the PVC, then for each workload its web-download
 * Service (where its run serves one) and the Job or CronJob. A plain run is a Job; with shards, an Indexed Job and a
 * merge Job in its place.
 */
export function renderK8s(cfg: Config, o: K8sOptions): Manifest[] {
  const names = namesOf(o);
  const overlay = podOverlay(cfg, o);
  const ns = o.namespace;
  const meta = (name: string, component: Component, group?: string) => ({ name, namespace: ns, labels: labelsOf(o, component, group) });
  const web = servesWebDownload(cfg, o.run.selection);
  const grace = Math.max(600, Math.ceil(cfg.timeouts.deletion) * 2);
  const ceph = o.ceph.length > 0;
  const data: Record<string, string> = {
    "config.yaml": o.configText,
    "overlay.yaml": overlayText(overlay),
    ...(o.knownHosts !== undefined ? { known_hosts: o.knownHosts } : {}),
  };
  const out: Manifest[] = [];
  const reportsArgs = ["--reports", POD_PATHS.reports];

  const runWorkload = (component: "run" | "scheduled", service: string): Workload => {
    if (web) data[`overlay-web-${component}.yaml`] = overlayText(webDownloadOverlay(overlay, o, service));
    return {
      component,
      overlayFile: web ? `overlay-web-${component}.yaml` : "overlay.yaml",
      args: ["run", ...reportsArgs, ...o.run.args],
      cloud: true,
      ceph,
      web,
    };
  };
  const template = (w: Workload, graceSeconds = grace) => ({
    metadata: { labels: labelsOf(o, w.component, w.group) },
    spec: podSpec(o, names, w, graceSeconds),
  });
  const workloads: Manifest[] = [];

  if (!o.shards) {
    const w = runWorkload("run", names.runWeb);
    if (web) workloads.push(webService(o, names.runWeb, selectorOf(o, "run")));
    const job: IJob = {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: meta(names.run, "run"),
      // NOTE: a run is never retried: a second attempt would hide a flake, and create its resources again.
      spec: { backoffLimit: 0, activeDeadlineSeconds: o.deadlineSeconds, template: template(w) },
    };
    workloads.push(job);
  } else {
    const { count, parallelism, group } = o.shards;
    const shardService = names.shardsWeb!;
    if (web) data["overlay-web-shard.yaml"] = overlayText(webDownloadOverlay(overlay, o, shardService));
    const shard: Workload = {
      component: "shard",
      group,
      // NOTE: only shard 1 holds central, where the multistore suite serves web-download; the Service selects index 0.
      overlayFile: web ? "overlay-web-shard.yaml" : "overlay.yaml",
      command: ["/bin/sh", "-c", SHARD_SCRIPT, "dcn-verify-shard", POD_PATHS.reports, group, String(count)],
      args: o.run.args,
      cloud: true,
      ceph,
      web,
    };
    if (web)
      workloads.push(webService(o, shardService, { ...selectorOf(o, "shard", group), "batch.kubernetes.io/job-completion-index": "0" }));
    const shards: IJob = {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: meta(names.shards!, "shard", group),
      spec: {
        completionMode: "Indexed",
        completions: count,
        parallelism,
        // NOTE: each shard runs once; a failed shard (a site failed) does not stop the others, and the Job fails at the end.
        backoffLimitPerIndex: 0,
        activeDeadlineSeconds: o.deadlineSeconds,
        template: template(shard),
      },
    };
    const merge: IJob = {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: meta(names.merge!, "merge", group),
      spec: {
        backoffLimit: 0,
        // NOTE: it waits for the shards, which may wait for a free node: longer than theirs.
        activeDeadlineSeconds: o.deadlineSeconds + 3600,
        template: template(
          {
            component: "merge",
            group,
            overlayFile: "overlay.yaml",
            command: ["/bin/sh", "-c", MERGE_SCRIPT, "dcn-verify-merge", POD_PATHS.reports, group, String(count), "15"],
            args: [],
            cloud: false,
            ceph: false,
            web: false,
          },
          30,
        ),
      },
    };
    workloads.push(shards, merge);
  }

  if (o.schedule) {
    const w = runWorkload("scheduled", names.scheduledWeb);
    if (web) workloads.push(webService(o, names.scheduledWeb, selectorOf(o, "scheduled")));
    workloads.push(cronJob(o, meta(names.scheduled, "scheduled"), o.schedule, template(w)));
  }

  if (o.canary) {
    const w: Workload = {
      component: "canary",
      overlayFile: "overlay.yaml",
      args: ["canary", "verify", "--set", o.canary.set, "--tier", "read-only", "--reports", `${POD_PATHS.reports}/canary`],
      cloud: true,
      ceph,
      web: false,
    };
    workloads.push(cronJob(o, meta(names.canary, "canary"), { cron: o.canary.cron, timeZone: o.canary.timeZone }, template(w)));
  }

  const configMap: IConfigMap = { apiVersion: "v1", kind: "ConfigMap", metadata: meta(names.config, "config"), data };
  const pvc: IPersistentVolumeClaim = {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: meta(names.reports, "reports"),
    spec: {
      accessModes: [o.reports.accessMode],
      resources: { requests: { storage: o.reports.size } },
      ...(o.reports.storageClass ? { storageClassName: o.reports.storageClass } : {}),
    },
  };
  out.push(configMap, pvc, ...workloads);
  for (const d of out) {
    // NOTE: a Job's name is a label value (63 at most), a Service's a DNS label; a CronJob's Jobs add 11 to its name.
    const name = d.metadata!.name!;
    const max = d.kind === "CronJob" ? 52 : 63;
    if (name.length > max)
      throw new RenderError(
        o.shards && name.includes(o.shards.group) ? "--group" : "--name-prefix",
        `the ${d.kind} would be named ${name}, longer than ${max} characters: give a shorter one`,
      );
  }
  return out;
}

function cronJob(
  o: K8sOptions,
  metadata: NonNullable<ICronJob["metadata"]>,
  when: { cron: string; timeZone: string },
  template: NonNullable<NonNullable<IJob["spec"]>["template"]>,
): ICronJob {
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata,
    spec: {
      schedule: when.cron,
      timeZone: when.timeZone,
      // NOTE: a run still going when the next is due: the next is skipped, never run beside it.
      concurrencyPolicy: "Forbid",
      startingDeadlineSeconds: 600,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 5,
      jobTemplate: {
        metadata: { labels: metadata.labels },
        spec: { backoffLimit: 0, activeDeadlineSeconds: o.deadlineSeconds, template },
      },
    },
  };
}

const overlayText = (overlay: Json) =>
  `# The config's paths as the pod sees them (dcn-verify render k8s): $DCN_VERIFY_OVERLAY over config.yaml.\n${stringify(overlay, { lineWidth: 0 })}`;

/** The manifests as one YAML stream, `---` between documents. */
export function manifestsYaml(docs: Manifest[]): string {
  return docs.map((d) => stringify(d, { lineWidth: 0, aliasDuplicateObjects: false })).join("---\n");
}

/** A file name per manifest, numbered in the order to apply them (`kubectl apply -f DIR` takes them in that order). */
export function manifestFileName(doc: Manifest, i: number): string {
  return `${String(i + 1).padStart(2, "0")}-${doc.kind.toLowerCase()}-${doc.metadata!.name}.yaml`;
}
