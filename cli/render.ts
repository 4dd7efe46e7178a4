import "../suites/index.ts";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../helpers/config/load.ts";
import type { Config } from "../helpers/config/schema.ts";
import { PACKAGE_ROOT } from "../helpers/core/package-root.ts";
import { redactText } from "../helpers/core/redact.ts";
import { CANARY_SET_ID, GROUP_ID, newRunId } from "../helpers/harness/naming.ts";
import { type Selection, select } from "../helpers/ops/selection.ts";
import {
  type AccessMode,
  type CephAccess,
  imageOf,
  K8S_DEFAULTS,
  type K8sOptions,
  type Manifest,
  manifestFileName,
  manifestsYaml,
  POD_PATHS,
  RenderError,
  renderK8s,
} from "../helpers/ops/k8s.ts";
import { parseCommand } from "./args.ts";
import { RUN_OPTIONS } from "./run.ts";

const D = K8S_DEFAULTS;

const USAGE = `usage: dcn-verify render k8s --config FILE [--out DIR] [--image IMAGE] [--namespace NS] [--name-prefix NAME]
         [--ceph ssh-key:SECRET|ceph-conf:SECRET] [--known-hosts FILE]
         [--schedule CRON] [--time-zone TZ] [--shards N [--parallelism P] [--group ID]]
         [--canary-set ID [--canary-schedule CRON]]
         [--openstack-config NAME] [--openstack-config-secret NAME] [--ca-bundle SECRET|none]
         [--storage-class NAME] [--reports-size SIZE] [--access-mode MODE] [--deadline SECONDS] [--fs-group GID]
         [--web-download-bind ADDR] [-- RUN OPTIONS]
  Writes the Kubernetes manifests that run dcn-verify in the cluster: a ConfigMap with the config FILE as it is
  (the pods read ${POD_PATHS.config}/config.yaml, with an overlay that points its paths at the pods' mounts),
  a PersistentVolumeClaim for the reports (at ${POD_PATHS.reports}), and a Job of one run.
  --shards N makes the run a fleet instead: an Indexed Job whose pod of index I runs --shard I+1/N --group ID,
  and a Job that waits for every shard's summary and runs 'dcn-verify merge' over them on the same volume.
  --schedule adds a CronJob of the run (one at a time: concurrencyPolicy Forbid). --canary-set adds a CronJob of
  'canary verify --set ID --tier read-only', every 30 minutes unless --canary-schedule says otherwise. A run that
  serves Glance's web-download gets a Service on port 80 to its image server.
  Every pod mounts what test-operator's pods mount: clouds.yaml of the ConfigMap ${D.openstackConfigMap}
  at ${POD_PATHS.clouds}, secure.yaml of the Secret ${D.openstackConfigSecret} at ${POD_PATHS.secure},
  and tls-ca-bundle.pem of the Secret ${D.caBundle} at
  ${POD_PATHS.caBundle} (--ca-bundle none: no CA bundle).
  --ceph gives the access to Ceph, each kind once:
    ssh-key:SECRET    the Secret whose ssh-privatekey logs in to the sites of transports ssh, cephadm and container
                      over ssh:// (read-only, mode 0400; RHOSO: dataplane-ansible-ssh-private-key-secret); their
                      hosts' keys come from --known-hosts FILE
    ceph-conf:SECRET  the Secret of <cluster>.conf and keyrings, at ${POD_PATHS.cephConf}, for transports local (RHOSO:
                      ceph-conf-files); the image must have rbd and ceph
  The pods run as any non-root UID, with a read-only root filesystem, no capabilities, seccomp RuntimeDefault and
  HOME=/tmp on an emptyDir. --fs-group sets their fsGroup: OpenShift's SCC assigns one; elsewhere give one (0, the
  image's group) so that the key and the volume are readable.
  After --, options of 'dcn-verify run' (--sites, --suites, --tests, --tier, --allow-writes, --strict,
  --allow-not-verified, --max-parallel, --verbose, --no-html), checked against the config as run checks them.
  Defaults: --image ${imageOf("<version>")}, --namespace ${D.namespace}, --name-prefix ${D.prefix},
  --time-zone ${D.timeZone}, --reports-size ${D.reportsSize}, --access-mode ReadWriteOnce (ReadWriteMany for shards
  in parallel), --deadline ${D.deadlineSeconds} seconds (each run's activeDeadlineSeconds), --group a new id.
  The manifests go to stdout as one YAML stream, or with --out to DIR, a file each, numbered in the order to apply
  them (kubectl apply -f DIR). Exits 0 when written, 2 on bad input (nothing written).`;

const OPTIONS = {
  config: { type: "string" },
  out: { type: "string" },
  image: { type: "string" },
  namespace: { type: "string" },
  "name-prefix": { type: "string" },
  ceph: { type: "string", multiple: true },
  "known-hosts": { type: "string" },
  schedule: { type: "string" },
  "time-zone": { type: "string" },
  shards: { type: "string" },
  parallelism: { type: "string" },
  group: { type: "string" },
  "canary-set": { type: "string" },
  "canary-schedule": { type: "string" },
  "openstack-config": { type: "string" },
  "openstack-config-secret": { type: "string" },
  "ca-bundle": { type: "string" },
  "storage-class": { type: "string" },
  "reports-size": { type: "string" },
  "access-mode": { type: "string" },
  deadline: { type: "string" },
  "fs-group": { type: "string" },
  "web-download-bind": { type: "string" },
} as const;

/** The options of `dcn-verify run` (RUN_OPTIONS) that render sets for each pod itself: refused after `--`. */
const SET_BY_RENDER = ["config", "overlay", "reports", "shard", "group"];

type Args = {
  [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K] extends { multiple: true } ? string[] : string;
};

export async function renderCommand(argv: string[]): Promise<number> {
  const [target, ...rest] = argv;
  if (target !== "k8s") {
    const help = target === undefined || target === "--help" || target === "-h";
    if (!help) process.stderr.write(`dcn-verify render: unknown target '${target}' (render k8s)\n`);
    (help ? process.stdout : process.stderr).write(`${USAGE}\n`);
    return help ? 0 : 2;
  }
  const split = rest.indexOf("--");
  const parsed = parseCommand(split < 0 ? rest : rest.slice(0, split), OPTIONS, USAGE);
  if (typeof parsed === "number") return parsed;
  const runArgv = split < 0 ? [] : rest.slice(split + 1);
  const say = (line: string) => process.stderr.write(`dcn-verify render k8s: ${line}\n`);
  let docs: Manifest[];
  let out: string | undefined;
  try {
    const { cfg, options } = await prepare(parsed.values as Args, runArgv, say);
    docs = renderK8s(cfg, options);
    await checkPodConfig(parsed.values.config!, docs);
    out = parsed.values.out;
    if (out !== undefined && existsSync(out) && !statSync(out).isDirectory()) throw new RenderError("--out", `${out} is not a directory`);
    if (options.shards) say(`fleet group ${options.shards.group}: ${options.shards.count} shards, then the merge`);
  } catch (e) {
    if (!(e instanceof RenderError || e instanceof ConfigError)) throw e;
    say(redactText(e.message));
    return 2;
  }
  if (out === undefined) {
    process.stdout.write(manifestsYaml(docs));
    return 0;
  }
  mkdirSync(out, { recursive: true });
  const files = docs.map((d, i) => {
    const file = join(out, manifestFileName(d, i));
    writeFileSync(file, manifestsYaml([d]));
    return file;
  });
  say(`wrote ${files.length} manifests to ${out} (kubectl apply -f ${out}):\n  ${files.join("\n  ")}`);
  return 0;
}

/** The config and every option, checked before anything is rendered: a RenderError or ConfigError names what to change. */
async function prepare(a: Args, runArgv: string[], say: (l: string) => void): Promise<{ cfg: Config; options: K8sOptions }> {
  if (!a.config) throw new RenderError("--config", "give the config file the pods run with");
  // NOTE: the file goes into the ConfigMap as it is: an overlay of this machine's ($DCN_VERIFY_OVERLAY) does not apply.
  const cfg = await loadConfig(a.config, { env: {} });
  const configText = readFileSync(a.config, "utf8");
  const shardCount = a.shards === undefined ? undefined : count("--shards", a.shards, 2);
  if (shardCount === undefined)
    for (const o of ["parallelism", "group"] as const) if (a[o] !== undefined) throw new RenderError(`--${o}`, "goes with --shards");
  if (shardCount !== undefined && a.schedule !== undefined)
    throw new RenderError(
      "--schedule",
      "a scheduled fleet is not rendered: schedule a run without --shards, or apply the fleet's Jobs from CI",
    );
  if (a["canary-schedule"] !== undefined && a["canary-set"] === undefined)
    throw new RenderError("--canary-schedule", "goes with --canary-set");
  if (a["time-zone"] !== undefined && a.schedule === undefined && a["canary-set"] === undefined)
    throw new RenderError("--time-zone", "goes with --schedule or --canary-set");
  const timeZone = a["time-zone"] ?? D.timeZone;
  try {
    new Intl.DateTimeFormat("en", { timeZone });
  } catch {
    throw new RenderError("--time-zone", `'${timeZone}' is not a time zone of the tz database (Etc/UTC, Europe/Paris)`);
  }
  const { args: runArgs, selection } = runOptions(cfg, runArgv, say);
  const shards = shardCount === undefined ? undefined : fleet(cfg, runArgv, shardCount, a);
  const ceph = cephAccess(a.ceph ?? []);
  let knownHosts: string | undefined;
  if (a["known-hosts"] !== undefined) {
    try {
      knownHosts = readFileSync(a["known-hosts"], "utf8");
    } catch (e) {
      throw new RenderError("--known-hosts", `cannot read ${a["known-hosts"]}: ${(e as Error).message}`);
    }
  }
  const caBundle = a["ca-bundle"] === "none" ? undefined : objectName("--ca-bundle", a["ca-bundle"] ?? D.caBundle);
  const bind = a["web-download-bind"] ?? D.webDownloadBind;
  if (!isIP(bind)) throw new RenderError("--web-download-bind", `'${bind}' is not an IP address (0.0.0.0, or :: on an IPv6 cluster)`);
  const image = a.image ?? imageOf(packageVersion());
  if (!/^[^\s]+$/.test(image)) throw new RenderError("--image", `'${image}' is not an image reference`);
  const namespace = a.namespace ?? D.namespace;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace) || namespace.length > 63)
    throw new RenderError("--namespace", `'${namespace}' is not a namespace name (lowercase letters, digits and '-', at most 63)`);
  const size = a["reports-size"] ?? D.reportsSize;
  if (!/^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/.test(size) || !(Number.parseFloat(size) > 0))
    throw new RenderError("--reports-size", `'${size}' is not a quantity of storage (5Gi, 500Mi)`);
  const modes: AccessMode[] = ["ReadWriteOnce", "ReadWriteMany", "ReadWriteOncePod"];
  const parallel = (shards?.parallelism ?? 1) > 1;
  const accessMode = (a["access-mode"] ?? (parallel ? "ReadWriteMany" : "ReadWriteOnce")) as AccessMode;
  if (!modes.includes(accessMode)) throw new RenderError("--access-mode", `'${accessMode}' is not one of ${modes.join(", ")}`);
  if (parallel && accessMode !== "ReadWriteMany")
    say(`--access-mode ${accessMode}: shards in parallel share the volume only on one node; ReadWriteMany lets them spread`);
  const options: K8sOptions = {
    image,
    namespace,
    prefix: a["name-prefix"] ?? D.prefix,
    configText,
    ...(knownHosts !== undefined ? { knownHosts } : {}),
    run: { args: runArgs, selection },
    ...(a.schedule !== undefined ? { schedule: { cron: cron("--schedule", a.schedule), timeZone } } : {}),
    ...(shards ? { shards } : {}),
    ...(a["canary-set"] !== undefined ? { canary: canary(a, timeZone) } : {}),
    ceph,
    openstack: {
      configMap: objectName("--openstack-config", a["openstack-config"] ?? D.openstackConfigMap),
      secret: objectName("--openstack-config-secret", a["openstack-config-secret"] ?? D.openstackConfigSecret),
      ...(caBundle ? { caBundle } : {}),
    },
    reports: {
      size,
      accessMode,
      ...(a["storage-class"] !== undefined ? { storageClass: objectName("--storage-class", a["storage-class"]) } : {}),
    },
    deadlineSeconds: a.deadline === undefined ? D.deadlineSeconds : count("--deadline", a.deadline, 60),
    ...(a["fs-group"] !== undefined ? { fsGroup: count("--fs-group", a["fs-group"], 0) } : {}),
    webDownloadBind: bind,
    version: packageVersion(),
  };
  if ("cloud" in cfg.cloud && options.openstack.configMap === D.openstackConfigMap && cfg.cloud.cloud !== "default")
    say(
      `cloud.cloud is '${cfg.cloud.cloud}': the pods look it up in ${D.openstackConfigMap}'s clouds.yaml, whose entry RHOSO names 'default'`,
    );
  return { cfg, options };
}

/** The run options after --, checked as `dcn-verify run` checks them (without a shard). */
function runOptions(cfg: Config, argv: string[], say: (l: string) => void): { args: string[]; selection: Selection } {
  for (const a of argv) {
    const name = /^--([^=]+)/.exec(a)?.[1];
    if (name && SET_BY_RENDER.includes(name))
      throw new RenderError(`-- ${a.replace(/=.*/, "")}`, "render sets it for each pod: leave it out of the run options");
  }
  let v: { [k: string]: string | boolean | undefined };
  try {
    v = parseArgs({ args: argv, options: RUN_OPTIONS, allowPositionals: false, strict: true }).values;
  } catch (e) {
    throw new RenderError("-- (run options)", (e as Error).message);
  }
  const selection = select(cfg, selectionInput(v), {});
  if (selection.notice) say(selection.notice);
  return { args: argv, selection };
}

function selectionInput(v: { [k: string]: string | boolean | undefined }, shard?: string, group?: string) {
  const s = (k: string) => v[k] as string | undefined;
  return {
    sites: s("sites"),
    suites: s("suites"),
    tests: s("tests"),
    tier: s("tier"),
    allowWrites: Boolean(v["allow-writes"]),
    strict: Boolean(v.strict),
    allowNotVerified: Boolean(v["allow-not-verified"]),
    maxParallel: s("max-parallel"),
    ...(shard ? { shard, group } : {}),
  };
}

/** --shards, --parallelism, --group: every shard 1..n must hold a site, as run --shard checks. */
function fleet(cfg: Config, runArgv: string[], n: number, a: Args): K8sOptions["shards"] {
  const parallelism = a.parallelism === undefined ? n : count("--parallelism", a.parallelism, 1);
  if (parallelism > n) throw new RenderError("--parallelism", `${parallelism} is more than the ${n} shards`);
  const group = a.group ?? newRunId();
  if (!GROUP_ID.test(group) || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(group) || group.length > 32)
    throw new RenderError("--group", `'${group}': lowercase letters, digits and '-', at most 32 (it names the Jobs)`);
  const v = parseArgs({ args: runArgv, options: RUN_OPTIONS, allowPositionals: false, strict: true }).values;
  for (let i = 1; i <= n; i++) {
    try {
      select(cfg, selectionInput(v, `${i}/${n}`, group), {});
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      throw new RenderError("--shards", `${n}: ${e.message}`);
    }
  }
  return { count: n, parallelism, group };
}

function canary(a: Args, timeZone: string): NonNullable<K8sOptions["canary"]> {
  const set = a["canary-set"]!;
  if (!CANARY_SET_ID.test(set))
    throw new RenderError("--canary-set", `'${set}' is not a canary set id (canary-<run id>, as plant printed it)`);
  return { set, cron: cron("--canary-schedule", a["canary-schedule"] ?? D.canarySchedule), timeZone };
}

/** --ceph ssh-key:SECRET | ceph-conf:SECRET, each kind at most once. */
function cephAccess(values: string[]): CephAccess[] {
  const out: CephAccess[] = [];
  for (const v of values) {
    const m = /^(ssh-key|ceph-conf):(.*)$/.exec(v);
    if (!m) throw new RenderError("--ceph", `'${v}': expected ssh-key:SECRET or ceph-conf:SECRET`);
    const kind = m[1] as CephAccess["kind"];
    if (out.some((c) => c.kind === kind)) throw new RenderError("--ceph", `${kind} is given twice`);
    out.push({ kind, secret: objectName("--ceph", m[2]!) });
  }
  return out;
}

/** A five-field cron schedule (or @hourly, @daily, ...), as a CronJob takes it; the time zone goes in --time-zone. */
function cron(option: string, v: string): string {
  const s = v.trim();
  if (/^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/.test(s)) return s;
  const fields = s.split(/\s+/);
  if (/TZ=/.test(s)) throw new RenderError(option, "give the time zone with --time-zone, not in the schedule");
  if (fields.length !== 5 || fields.some((f) => !/^[0-9A-Za-z*/,?-]+$/.test(f)))
    throw new RenderError(option, `'${v}' is not a cron schedule: five fields, minute hour day-of-month month day-of-week ("0 3 * * *")`);
  return fields.join(" ");
}

function count(option: string, v: string, min: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min)
    throw new RenderError(option, `expected a whole number, at least ${min}, got '${v}'`);
  return n;
}

/** The name of a Secret, ConfigMap or StorageClass (a DNS subdomain). */
function objectName(option: string, v: string): string {
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(v) || v.length > 253)
    throw new RenderError(option, `'${v}' is not an object name (lowercase letters, digits, '-' and '.')`);
  return v;
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string }).version;
}

/** The config as each pod loads it, with its overlay: the project's loader refuses what the pods would refuse. */
async function checkPodConfig(configPath: string, docs: Manifest[]): Promise<void> {
  const cm = docs.find((d) => d.kind === "ConfigMap");
  const data = cm && "data" in cm ? (cm.data ?? {}) : {};
  const dir = mkdtempSync(join(tmpdir(), "dcnv-render-"));
  try {
    for (const [name, text] of Object.entries(data)) {
      if (!/^overlay.*\.yaml$/.test(name)) continue;
      const file = join(dir, name);
      writeFileSync(file, text);
      try {
        await loadConfig(resolve(configPath), { overlay: file, env: {} });
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        throw new RenderError(`${POD_PATHS.config}/${name}`, `the config as the pods load it is refused: ${e.message}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
