import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CronJob, Job } from "kubernetes-models/batch/v1";
import { ConfigMap, PersistentVolumeClaim, Service } from "kubernetes-models/v1";
import type { IContainer, IPodSpec } from "kubernetes-models/v1";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { parseAllDocuments, stringify } from "yaml";
import { renderCommand } from "./render.ts";
import { loadConfig } from "../helpers/config/load.ts";
import type { Config } from "../helpers/config/schema.ts";
import { configFolder } from "../helpers/config/testing.ts";
import { select } from "../helpers/ops/selection.ts";
import { type K8sOptions, type Manifest, manifestsYaml, POD_PATHS, podOverlay, RenderError, renderK8s } from "../helpers/ops/k8s.ts";

const folder = configFolder();

const fsid = (i: number) => `0000000${i}-1d4a-4f5b-8c6d-7e8f9a0b1c2d`;
const site = (name: string, i: number) => ({
  name,
  az: name,
  store: name,
  ceph: {
    cluster: name,
    fsid: fsid(i),
    transport: {
      kind: "cephadm",
      host: `${name}-ceph.example.com`,
      user: "cloud-admin",
      identityFile: "~/.ssh/dataplane-ansible-ssh-private-key",
      knownHostsFile: "~/.ssh/known_hosts",
    },
  },
});
/** RHOSO 18's shape: central az0 and edges, each Ceph reached with cephadm over ssh. */
const rhosoConfig = (edges = 3) => ({
  distribution: "rhoso18",
  cloud: { cloud: "default" },
  central: site("az0", 0),
  edges: Array.from({ length: edges }, (_, i) => site(`az${i + 1}`, i + 1)),
  flavor: "m1.small",
});

async function loaded(raw: object): Promise<{ cfg: Config; text: string; file: string }> {
  const text = stringify(raw);
  const file = folder.write("dcn-verify.yaml", text);
  return { cfg: await loadConfig(file, { env: {} }), text, file };
}

function options(cfg: Config, text: string, over: Partial<K8sOptions> = {}): K8sOptions {
  return {
    image: "localhost/dcn-verify:0.1.0",
    namespace: "openstack",
    prefix: "dcn-verify",
    configText: text,
    knownHosts: "az0-ceph.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample\n",
    run: { args: ["--tier", "standard"], selection: select(cfg, { tier: "standard" }, {}) },
    ceph: [{ kind: "ssh-key", secret: "dataplane-ansible-ssh-private-key-secret" }],
    openstack: { configMap: "openstack-config", secret: "openstack-config-secret", caBundle: "combined-ca-bundle" },
    reports: { size: "5Gi", accessMode: "ReadWriteOnce" },
    deadlineSeconds: 10800,
    webDownloadBind: "0.0.0.0",
    version: "0.1.0",
    ...over,
  };
}

type Model = new (data: never) => { validate(): void };
const MODELS: Record<Manifest["kind"], Model> = { ConfigMap, PersistentVolumeClaim, Service, Job, CronJob };
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The YAML stream parsed back, every document validated by the kubernetes-models class of its kind. */
function validated(yamlText: string): Manifest[] {
  const docs = parseAllDocuments(yamlText).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS() as Manifest;
  });
  for (const doc of docs) {
    const M = MODELS[doc.kind];
    if (!M) throw new Error(`no kubernetes-models class for kind ${String(doc.kind)}`);
    new M(doc as never).validate();
    // NOTE: the schemas do not check names: a name is a DNS label, a Job's at most 63, a CronJob's at most 52.
    expect(doc.metadata?.name).toMatch(DNS_LABEL);
    expect(doc.metadata!.name!.length).toBeLessThanOrEqual(doc.kind === "CronJob" ? 52 : 63);
    expect(doc.metadata?.namespace).toBe("openstack");
  }
  return docs;
}

const byKind = <K extends Manifest["kind"]>(docs: Manifest[], kind: K) =>
  docs.filter((d): d is Extract<Manifest, { kind: K }> => d.kind === kind);

/** Every pod template of the manifests, with the name of the object it belongs to. */
function podSpecs(docs: Manifest[]): { of: string; spec: IPodSpec }[] {
  return docs.flatMap((d) => {
    if (d.kind === "Job") return [{ of: d.metadata!.name!, spec: d.spec!.template.spec! }];
    if (d.kind === "CronJob") return [{ of: d.metadata!.name!, spec: d.spec!.jobTemplate.spec!.template.spec! }];
    return [];
  });
}

const containerOf = (spec: IPodSpec): IContainer => {
  expect(spec.containers).toHaveLength(1);
  return spec.containers[0]!;
};
const mountAt = (spec: IPodSpec, path: string) => {
  const m = containerOf(spec).volumeMounts?.find((x) => x.mountPath === path);
  expect(m, `a mount at ${path}`).toBeDefined();
  return { mount: m!, volume: spec.volumes!.find((v) => v.name === m!.name)! };
};
const configMapData = (docs: Manifest[]) => byKind(docs, "ConfigMap")[0]!.data!;

describe("Kubernetes manifests of dcn-verify", () => {
  test("a plain run: the ConfigMap, the PVC, the web-download Service and the Job, each valid for its kind", async () => {
    const { cfg, text } = await loaded(rhosoConfig(1));
    const docs = validated(manifestsYaml(renderK8s(cfg, options(cfg, text))));
    expect(docs.map((d) => `${d.kind}/${d.metadata!.name}`)).toEqual([
      "ConfigMap/dcn-verify-config",
      "PersistentVolumeClaim/dcn-verify-reports",
      "Service/dcn-verify-run-web",
      "Job/dcn-verify-run",
    ]);
    const job = byKind(docs, "Job")[0]!;
    expect(job.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 10800 });
    expect(containerOf(job.spec!.template.spec!).args).toEqual(["run", "--reports", POD_PATHS.reports, "--tier", "standard"]);
    expect(configMapData(docs)["config.yaml"]).toBe(text);
  });

  test("every pod: non-root with any UID, no privilege escalation, read-only root, no capabilities, RuntimeDefault, HOME on an emptyDir", async () => {
    const { cfg, text } = await loaded(rhosoConfig(3));
    const plain = renderK8s(
      cfg,
      options(cfg, text, {
        schedule: { cron: "0 3 * * *", timeZone: "Etc/UTC" },
        canary: { set: "canary-20261201t100100-aaaa", cron: "*/30 * * * *", timeZone: "Etc/UTC" },
      }),
    );
    const fleet = renderK8s(cfg, options(cfg, text, { shards: { count: 3, parallelism: 3, group: "g1" } }));
    const pods = podSpecs(validated(manifestsYaml([...plain, ...fleet])));
    expect(pods.map((p) => p.of)).toEqual([
      "dcn-verify-run",
      "dcn-verify-scheduled",
      "dcn-verify-canary",
      "dcn-verify-g1-shards",
      "dcn-verify-g1-merge",
    ]);
    for (const { of, spec } of pods) {
      const c = containerOf(spec);
      expect(spec.securityContext, of).toEqual({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
      expect(c.securityContext, of).toEqual({
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
      });
      // NOTE: no fixed UID or GID: OpenShift's restricted-v2 assigns one from the namespace's range, with group 0.
      expect(JSON.stringify(spec), of).not.toMatch(/runAsUser|runAsGroup|privileged/);
      expect(spec.automountServiceAccountToken, of).toBe(false);
      expect(spec.restartPolicy, of).toBe("Never");
      expect(c.env, of).toContainEqual({ name: "HOME", value: "/tmp" });
      expect(mountAt(spec, "/tmp").volume.emptyDir, of).toEqual({});
      expect(mountAt(spec, POD_PATHS.reports).volume.persistentVolumeClaim, of).toEqual({ claimName: "dcn-verify-reports" });
      expect(mountAt(spec, POD_PATHS.config)).toMatchObject({
        mount: { readOnly: true },
        volume: { configMap: { name: "dcn-verify-config" } },
      });
    }
  });

  test("the cloud's files and the ssh key are mounted where test-operator mounts them, read-only, the key at mode 0400", async () => {
    const { cfg, text } = await loaded(rhosoConfig(1));
    const [job] = byKind(renderK8s(cfg, options(cfg, text)), "Job");
    const spec = job!.spec!.template.spec!;
    expect(mountAt(spec, "/etc/openstack/clouds.yaml")).toEqual({
      mount: { name: "openstack-config", mountPath: "/etc/openstack/clouds.yaml", subPath: "clouds.yaml", readOnly: true },
      volume: { name: "openstack-config", configMap: { name: "openstack-config" } },
    });
    expect(mountAt(spec, "/etc/openstack/secure.yaml")).toEqual({
      mount: { name: "openstack-config-secret", mountPath: "/etc/openstack/secure.yaml", subPath: "secure.yaml", readOnly: true },
      volume: { name: "openstack-config-secret", secret: { secretName: "openstack-config-secret" } },
    });
    expect(mountAt(spec, "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem")).toEqual({
      mount: {
        name: "ca-bundle",
        mountPath: "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
        subPath: "tls-ca-bundle.pem",
        readOnly: true,
      },
      volume: { name: "ca-bundle", secret: { secretName: "combined-ca-bundle" } },
    });
    expect(containerOf(spec).env).toContainEqual({
      name: "NODE_EXTRA_CA_CERTS",
      value: "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    });
    expect(mountAt(spec, POD_PATHS.sshKeyDir)).toEqual({
      mount: { name: "ssh-key", mountPath: POD_PATHS.sshKeyDir, readOnly: true },
      volume: { name: "ssh-key", secret: { secretName: "dataplane-ansible-ssh-private-key-secret", defaultMode: 0o400 } },
    });
    expect(spec.volumes!.map((v) => v.name)).not.toContain("ceph-conf");
  });

  test("the ceph-conf Secret goes to /etc/ceph, and the pod's config reads its conf and keyring there", async () => {
    const raw = rhosoConfig(1);
    const edge = raw.edges[0]!;
    const local = {
      ...edge,
      ceph: { cluster: "az1", conf: "/home/me/az1.conf", keyring: "/home/me/az1.client.openstack.keyring", transport: { kind: "local" } },
    };
    const { cfg, text, file } = await loaded({ ...raw, edges: [local] });
    const o = options(cfg, text, {
      ceph: [
        { kind: "ssh-key", secret: "dataplane-ansible-ssh-private-key-secret" },
        { kind: "ceph-conf", secret: "ceph-conf-files" },
      ],
    });
    const docs = validated(manifestsYaml(renderK8s(cfg, o)));
    const spec = byKind(docs, "Job")[0]!.spec!.template.spec!;
    expect(mountAt(spec, "/etc/ceph")).toEqual({
      mount: { name: "ceph-conf", mountPath: "/etc/ceph", readOnly: true },
      volume: { name: "ceph-conf", secret: { secretName: "ceph-conf-files", defaultMode: 0o440 } },
    });
    const overlay = folder.write("overlay.yaml", configMapData(docs)["overlay.yaml"]!);
    const inPod = await loadConfig(file, { overlay, env: {} });
    expect(inPod.edges[0]!.ceph).toMatchObject({ conf: "/etc/ceph/az1.conf", keyring: "/etc/ceph/az1.client.openstack.keyring" });
  });

  test("the config as the pod loads it: clouds.yaml, the key and known_hosts at the mounts, web-download through the Service", async () => {
    const { cfg, text, file } = await loaded(rhosoConfig(1));
    const docs = validated(manifestsYaml(renderK8s(cfg, options(cfg, text))));
    const data = configMapData(docs);
    const spec = byKind(docs, "Job")[0]!.spec!.template.spec!;
    const overlayFile = containerOf(spec).env!.find((e) => e.name === "DCN_VERIFY_OVERLAY")!.value!;
    expect(containerOf(spec).env).toContainEqual({ name: "DCN_VERIFY_CONFIG", value: `${POD_PATHS.config}/config.yaml` });
    const name = overlayFile.slice(POD_PATHS.config.length + 1);
    const inPod = await loadConfig(file, { overlay: folder.write(name, data[name]!), env: {} });
    expect(inPod.cloud).toMatchObject({ cloud: "default", cloudsFile: "/etc/openstack/clouds.yaml" });
    for (const s of [inPod.central, ...inPod.edges])
      expect(s.ceph.transport).toMatchObject({ identityFile: POD_PATHS.sshKey, knownHostsFile: `${POD_PATHS.config}/known_hosts` });
    expect(data.known_hosts).toContain("az0-ceph.example.com");
    const service = byKind(docs, "Service")[0]!;
    expect(inPod.webDownload).toMatchObject({ bind: "0.0.0.0", port: 8080, advertiseUrl: "http://dcn-verify-run-web.openstack.svc" });
    expect(service.spec!.ports).toEqual([{ name: "web-download", port: 80, targetPort: "web-download", protocol: "TCP" }]);
    expect(containerOf(spec).ports).toEqual([{ name: "web-download", containerPort: inPod.webDownload.port, protocol: "TCP" }]);
    for (const [k, v] of Object.entries(service.spec!.selector!)) expect(job(docs).spec!.template.metadata!.labels![k]).toBe(v);
  });

  test("a run that serves no web-download (read-only, or webDownload.uri) gets no Service and no port", async () => {
    const { cfg, text } = await loaded(rhosoConfig(1));
    const docs = renderK8s(
      cfg,
      options(cfg, text, { run: { args: ["--tier", "read-only"], selection: select(cfg, { tier: "read-only" }, {}) } }),
    );
    expect(docs.map((d) => d.kind)).toEqual(["ConfigMap", "PersistentVolumeClaim", "Job"]);
    expect(containerOf(job(docs).spec!.template.spec!).ports).toBeUndefined();
  });

  test("the CronJobs: the scheduled run one at a time, and the read-only canary verify", async () => {
    const { cfg, text } = await loaded(rhosoConfig(1));
    const docs = validated(
      manifestsYaml(
        renderK8s(
          cfg,
          options(cfg, text, {
            schedule: { cron: "0 3 * * *", timeZone: "Europe/Paris" },
            canary: { set: "canary-20261201t100100-aaaa", cron: "*/30 * * * *", timeZone: "Etc/UTC" },
          }),
        ),
      ),
    );
    const [scheduled, canary] = byKind(docs, "CronJob");
    expect(scheduled!.spec).toMatchObject({
      schedule: "0 3 * * *",
      timeZone: "Europe/Paris",
      concurrencyPolicy: "Forbid",
      startingDeadlineSeconds: 600,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 5,
      jobTemplate: { spec: { backoffLimit: 0, activeDeadlineSeconds: 10800 } },
    });
    const canarySpec = canary!.spec!.jobTemplate.spec!.template.spec!;
    expect(canary!.spec).toMatchObject({ schedule: "*/30 * * * *", concurrencyPolicy: "Forbid" });
    expect(containerOf(canarySpec).args).toEqual([
      "canary",
      "verify",
      "--set",
      "canary-20261201t100100-aaaa",
      "--tier",
      "read-only",
      "--reports",
      `${POD_PATHS.reports}/canary`,
    ]);
    expect(mountAt(canarySpec, POD_PATHS.sshKeyDir).volume.secret?.defaultMode).toBe(0o400);
  });
});

const job = (docs: Manifest[]) => byKind(docs, "Job")[0]!;

describe("a fleet of 3 shards", () => {
  let work = "";
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), "dcnv-k8s-"));
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  /** A stand-in for the image's dcn-verify: records its arguments, one a line, in $CAPTURE. */
  function fakeDcnVerify(): string {
    const bin = join(work, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "dcn-verify"), `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done > "$CAPTURE"\n`);
    chmodSync(join(bin, "dcn-verify"), 0o755);
    return bin;
  }

  /** The pod's command and args as the container runs them, with its reports volume at `reports`. */
  function runPod(spec: IPodSpec, reports: string, env: Record<string, string>, timeoutMs?: number) {
    const c = containerOf(spec);
    const argv = [...c.command!, ...(c.args ?? [])].map((a) => (a === POD_PATHS.reports ? reports : a));
    expect(argv.slice(0, 2)).toEqual(["/bin/sh", "-c"]);
    const capture = join(work, `capture-${Math.random().toString(16).slice(2)}`);
    const r = spawnSync(argv[0]!, argv.slice(1), {
      env: { PATH: `${join(work, "bin")}:/usr/bin:/bin`, CAPTURE: capture, ...env },
      encoding: "utf8",
      ...(timeoutMs ? { timeout: timeoutMs } : {}),
    });
    return { status: r.status, stderr: r.stderr, args: existsSync(capture) ? readFileSync(capture, "utf8").split("\n").slice(0, -1) : [] };
  }

  const valueOf = (args: string[], option: string) => args[args.indexOf(option) + 1]!;

  test("the Indexed Job runs each shard 1/3..3/3 exactly once, and the shards cover every site exactly once", async () => {
    const { cfg, text } = await loaded(rhosoConfig(3));
    const docs = validated(manifestsYaml(renderK8s(cfg, options(cfg, text, { shards: { count: 3, parallelism: 3, group: "g1" } }))));
    expect(docs.map((d) => `${d.kind}/${d.metadata!.name}`)).toEqual([
      "ConfigMap/dcn-verify-config",
      "PersistentVolumeClaim/dcn-verify-reports",
      "Service/dcn-verify-g1-web",
      "Job/dcn-verify-g1-shards",
      "Job/dcn-verify-g1-merge",
    ]);
    const [shards, merge] = byKind(docs, "Job");
    expect(shards!.spec).toMatchObject({ completionMode: "Indexed", completions: 3, parallelism: 3, backoffLimitPerIndex: 0 });
    expect(shards!.spec!.backoffLimit).toBeUndefined();
    fakeDcnVerify();
    const reports = join(work, "reports");
    const ran = Array.from({ length: shards!.spec!.completions! }, (_, index) => {
      const r = runPod(shards!.spec!.template.spec!, reports, { JOB_COMPLETION_INDEX: String(index) });
      expect(r.status, r.stderr).toBe(0);
      return r.args;
    });
    expect(ran.map((a) => a[0])).toEqual(["run", "run", "run"]);
    expect(ran.map((a) => valueOf(a, "--shard")).sort()).toEqual(["1/3", "2/3", "3/3"]);
    expect(new Set(ran.map((a) => valueOf(a, "--group")))).toEqual(new Set(["g1"]));
    expect(ran.map((a) => valueOf(a, "--reports"))).toEqual([1, 2, 3].map((i) => join(reports, "shards", "g1", String(i))));
    for (const a of ran) expect(a.slice(-2)).toEqual(["--tier", "standard"]);
    const sites = ran.flatMap((a) => select(cfg, { tier: "standard", shard: valueOf(a, "--shard"), group: "g1" }, {}).sites);
    expect([...sites].sort()).toEqual(["az0", "az1", "az2", "az3"]);

    // Each shard's run leaves its run directory; the merge takes every one of them.
    ran.forEach((a, i) => {
      mkdirSync(join(valueOf(a, "--reports"), `2026120${i}t100000-aaaa`), { recursive: true });
      writeFileSync(join(valueOf(a, "--reports"), `2026120${i}t100000-aaaa`, "summary.json"), "{}");
      mkdirSync(join(valueOf(a, "--reports"), "history"), { recursive: true });
    });
    expect(merge!.spec!.activeDeadlineSeconds).toBeGreaterThan(shards!.spec!.activeDeadlineSeconds!);
    const m = runPod(merge!.spec!.template.spec!, reports, {});
    expect(m.status, m.stderr).toBe(0);
    expect(m.args).toEqual([
      "merge",
      ...[1, 2, 3].map((i) => join(reports, "shards", "g1", String(i), `2026120${i - 1}t100000-aaaa`)),
      "--reports",
      reports,
    ]);
  });

  test("the merge waits for a shard whose summary is not there yet, naming it", async () => {
    const { cfg, text } = await loaded(rhosoConfig(3));
    const merge = renderK8s(cfg, options(cfg, text, { shards: { count: 3, parallelism: 3, group: "g1" } })).filter(
      (d) => d.kind === "Job",
    )[1] as Job;
    fakeDcnVerify();
    const reports = join(work, "reports");
    for (const i of [1, 2]) {
      mkdirSync(join(reports, "shards", "g1", String(i), "run"), { recursive: true });
      writeFileSync(join(reports, "shards", "g1", String(i), "run", "summary.json"), "{}");
    }
    const m = runPod(merge.spec!.template.spec!, reports, {}, 1500);
    expect(m.args).toEqual([]);
    expect(m.stderr).toContain("waiting for the summary of shard(s) 3 of 3, group g1");
  });

  test("the shards' web-download Service selects the pod of index 0, the shard that holds central", async () => {
    const { cfg, text } = await loaded(rhosoConfig(3));
    const docs = renderK8s(cfg, options(cfg, text, { shards: { count: 3, parallelism: 2, group: "g1" } }));
    const service = byKind(docs, "Service")[0]!;
    expect(service.spec!.selector).toMatchObject({ "dcn-verify/group": "g1", "batch.kubernetes.io/job-completion-index": "0" });
    expect(select(cfg, { shard: "1/3", group: "g1" }, {}).sites).toContain(cfg.central.name);
    expect(job(docs).spec!.parallelism).toBe(2);
  });
});

describe("what the manifests cannot be made from", () => {
  test("a broken manifest fails its kind's validation", async () => {
    const { cfg, text } = await loaded(rhosoConfig(3));
    const docs = renderK8s(cfg, options(cfg, text, { shards: { count: 3, parallelism: 3, group: "g1" } }));
    const fresh = () => JSON.parse(JSON.stringify(job(docs))) as Job;
    const a = fresh();
    (a.spec as { completionMode: string }).completionMode = "indexed";
    expect(() => new Job(a).validate()).toThrow(/completionMode/);
    const b = fresh();
    delete (b.spec!.template.spec!.containers[0] as Partial<IContainer>).name;
    expect(() => validated(manifestsYaml([b]))).toThrow(/must have required property 'name'|required property name/);
    const c = fresh();
    (c.spec!.template.spec!.volumes![0]!.configMap as { defaultMode?: unknown }).defaultMode = "0400";
    expect(() => new Job(c).validate()).toThrow(/defaultMode must be integer/);
    const pvc = JSON.parse(JSON.stringify(byKind(docs, "PersistentVolumeClaim")[0])) as PersistentVolumeClaim;
    pvc.spec!.resources!.requests!.storage = "five gigs";
    expect(() => validated(manifestsYaml([pvc]))).toThrow(/quantity/);
  });

  test.each([
    ["a credential from OS_* variables", { cloud: { fromEnv: true } }, "cloud.fromEnv"],
    ["an image file on this machine", { image: { source: { path: "/srv/cirros.raw" } } }, "image.source.path"],
    [
      "a container engine's socket",
      { edges: [{ ...site("az1", 1), ceph: { cluster: "az1", transport: { kind: "container", socketPath: "/run/podman.sock" } } }] },
      "edges[0].ceph.transport.socketPath",
    ],
    [
      "rbd behind sudo in the pod",
      { edges: [{ ...site("az1", 1), ceph: { cluster: "az1", transport: { kind: "local", prefix: ["sudo"] } } }] },
      "edges[0].ceph.transport.prefix",
    ],
  ])("%s is refused, naming the field", async (_what, over, field) => {
    const { cfg, text } = await loaded({ ...rhosoConfig(1), ...over });
    const e = (() => {
      try {
        podOverlay(cfg, options(cfg, text));
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(RenderError);
    expect((e as RenderError).field).toBe(field);
  });

  test("ssh transports without an ssh key, or strict host keys without known_hosts, are refused naming the option", async () => {
    const { cfg, text } = await loaded(rhosoConfig(1));
    expect(() => podOverlay(cfg, options(cfg, text, { ceph: [] }))).toThrow(/^--ceph: az0, az1 reach Ceph over ssh: give ssh-key:SECRET/);
    expect(() => podOverlay(cfg, options(cfg, text, { knownHosts: undefined }))).toThrow(
      /^--known-hosts: site az0 checks the key of az0-ceph.example.com against known_hosts/,
    );
    expect(() =>
      podOverlay(cfg, options(cfg, text, { ceph: [...options(cfg, text).ceph, { kind: "ceph-conf", secret: "ceph-conf-files" }] })),
    ).toThrow(/^--ceph: ceph-conf:ceph-conf-files: no site runs rbd in the pod/);
  });
});

describe("dcn-verify render k8s", () => {
  let out = "";
  let err = "";
  let dir = "";
  beforeEach(() => {
    out = "";
    err = "";
    dir = mkdtempSync(join(tmpdir(), "dcnv-render-"));
    vi.spyOn(process.stdout, "write").mockImplementation((s) => ((out += String(s)), true));
    vi.spyOn(process.stderr, "write").mockImplementation((s) => ((err += String(s)), true));
  });
  afterEach(() => {
    vi.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  const base = (file: string) => ["k8s", "--config", file, "--ceph", "ssh-key:dataplane-ansible-ssh-private-key-secret"];

  test("writes a fleet's manifests to --out, a file each in the order to apply them, every one valid", async () => {
    const { file } = await loaded(rhosoConfig(3));
    const kh = folder.write("known_hosts", "az0-ceph.example.com ssh-ed25519 AAAA\n");
    const to = join(dir, "k8s");
    expect(
      await renderCommand([
        ...base(file),
        "--known-hosts",
        kh,
        "--shards",
        "3",
        "--group",
        "g7",
        "--out",
        to,
        "--",
        "--suites",
        "procedure",
      ]),
      err,
    ).toBe(0);
    const files = readdirSync(to).sort();
    expect(files).toEqual([
      "01-configmap-dcn-verify-config.yaml",
      "02-persistentvolumeclaim-dcn-verify-reports.yaml",
      "03-job-dcn-verify-g7-shards.yaml",
      "04-job-dcn-verify-g7-merge.yaml",
    ]);
    validated(files.map((f) => readFileSync(join(to, f), "utf8")).join("---\n"));
    expect(err).toContain("fleet group g7: 3 shards");
  });

  test("prints the manifests to stdout; --help prints the usage", async () => {
    const { file } = await loaded(rhosoConfig(1));
    const kh = folder.write("known_hosts", "x\n");
    expect(await renderCommand([...base(file), "--known-hosts", kh, "--schedule", "@daily", "--namespace", "openstack"]), err).toBe(0);
    expect(validated(out).map((d) => d.kind)).toEqual(["ConfigMap", "PersistentVolumeClaim", "Service", "Job", "Service", "CronJob"]);
    out = "";
    expect(await renderCommand(["k8s", "--help"])).toBe(0);
    expect(out).toMatch(/^usage: dcn-verify render k8s --config FILE/);
  });

  test.each([
    [["--shards", "5"], /^dcn-verify render k8s: --shards: 5: --shard 4\/5: no site falls to this shard/m],
    [["--schedule", "0 3 * *"], /--schedule: '0 3 \* \*' is not a cron schedule/],
    [["--ceph", "ceph-conf:Not_A_Name"], /--ceph: 'Not_A_Name' is not an object name/],
    [["--ceph", "ssh-key:other"], /--ceph: ssh-key is given twice/],
    [["--", "--reports", "/x"], /-- --reports: render sets it for each pod/],
    [["--", "--tier", "everything"], /--tier: unknown tier 'everything'/],
    [["--group", "g1"], /--group: goes with --shards/],
    [["--access-mode", "ReadMostly"], /--access-mode: 'ReadMostly' is not one of/],
  ])("bad input %j: exit 2, the option named, nothing written", async (extra, message) => {
    const { file } = await loaded(rhosoConfig(3));
    const kh = folder.write("known_hosts", "x\n");
    const to = join(dir, "k8s");
    expect(await renderCommand([...base(file), "--known-hosts", kh, "--out", to, ...extra])).toBe(2);
    expect(err).toMatch(message);
    expect(existsSync(to)).toBe(false);
    expect(out).toBe("");
  });

  test("a config the loader refuses is refused before anything is written", async () => {
    const file = folder.write("dcn-verify.yaml", stringify({ ...rhosoConfig(1), flavor: 3 }));
    const to = join(dir, "k8s");
    expect(await renderCommand([...base(file), "--out", to])).toBe(2);
    expect(err).toContain("flavor");
    expect(existsSync(to)).toBe(false);
  });
});
