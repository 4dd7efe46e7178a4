/** What the lab writes for its clients: clouds.yaml, openrc, the harness's config and a distribution profile's overlay. */
import { readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { applyOverlay } from "../helpers/config/overlay.ts";
import { dockerSocket } from "./access.ts";
import { KEYSTONE_URL, REGION } from "./os-admin.ts";
import { labSites, type LabProfileDef, profileDef } from "./profiles/index.ts";
import { LAB_FLAVOR } from "./provision.ts";
import { edgeGlancePort } from "./services/glance.ts";
import { MEMBER_PROJECT, MEMBER_USER } from "./services/keystone.ts";
import { type LabSecrets, type LabState, paths, REPO_ROOT, writeSecretFile } from "./state.ts";

/** The lab's clouds.yaml, openrc and the harness's config (with a distribution profile, its overlay too). */
export function writeClientConfig(state: LabState, secrets: LabSecrets): void {
  const p = paths();
  const profile = profileDef(state.profile);
  // NOTE: with fault glance-hardened the public Glance shows no locations: the admin uses the services' (internal) endpoints.
  const interface_ = state.faults.some((f) => f.kind === "glance-hardened") ? "internal" : "public";
  const entry = (username: string, password: string, project: string) => ({
    auth: {
      auth_url: KEYSTONE_URL,
      username,
      password,
      project_name: project,
      user_domain_name: "Default",
      project_domain_name: "Default",
    },
    region_name: REGION,
    interface: username === MEMBER_USER ? "public" : interface_,
    identity_api_version: 3,
  });
  const admin = entry("admin", secrets.admin, "admin");
  writeSecretFile(
    p.cloudsYaml,
    stringify({
      clouds: {
        "dcn-lab": admin,
        "dcn-lab-member": entry(MEMBER_USER, secrets.member!, MEMBER_PROJECT),
        ...(profile.cloudEntry !== "dcn-lab" ? { [profile.cloudEntry]: admin } : {}),
      },
    }),
  );
  const header = `# Written by 'dcn-verify lab up' for the embedded lab (profile ${state.profile ?? "standard"}); the same format serves a real cloud.\n`;
  if (profile.example) {
    const overlay = labOverlay(state, profile);
    writeSecretFile(
      p.overlay,
      `# The lab's overlay of examples/${profile.example}: hosts, ports, paths, fsids and polling (docs/lab.md, Lab profiles).\n${stringify(overlay)}`,
    );
    const example = exampleOf(profile);
    const sites = labSites(state);
    // NOTE: the examples name two edges; a lab with fewer keeps only its own, so that a plain 'run' reaches every site.
    const merged = applyOverlay({ ...example, edges: example.edges.filter((e) => sites.includes(e.name)) }, overlay);
    writeSecretFile(p.config, header + stringify(merged));
  } else writeSecretFile(p.config, header + stringify(standardConfig(state)));
  writeSecretFile(
    join(p.root, "openrc"),
    [
      `export OS_AUTH_URL=${KEYSTONE_URL}`,
      "export OS_IDENTITY_API_VERSION=3",
      "export OS_USERNAME=admin",
      `export OS_PASSWORD='${secrets.admin}'`,
      "export OS_PROJECT_NAME=admin",
      "export OS_USER_DOMAIN_NAME=Default",
      "export OS_PROJECT_DOMAIN_NAME=Default",
      `export OS_REGION_NAME=${REGION}`,
      `export OS_INTERFACE=${interface_}`,
      "",
    ].join("\n"),
  );
}

/**
 * NOTE: on loopback most operations end within a second or two: the first poll comes after 0.3 s, not the default 1 s,
 * and polls back off to 2 s, not 5 s (a procedure run at one edge: 54 s instead of 56). The profiles' overlays set it
 * too: their examples keep the field's defaults.
 */
const LAB_POLLING = { pollInterval: 0.3, pollIntervalMax: 2 };

/** A profile's example config, as YAML data. */
export function exampleOf(profile: LabProfileDef): { flavor: string; edges: { name: string }[] } & Record<string, unknown> {
  return parse(readFileSync(join(REPO_ROOT, "examples", profile.example!), "utf8")) as { flavor: string; edges: { name: string }[] };
}

/** The standard profile's harness config: every site reached through its Docker API socket, the lab's quick waits. */
function standardConfig(state: LabState): Record<string, unknown> {
  const p = paths();
  const sites = labSites(state);
  const site = (name: string) => ({
    name,
    az: name,
    store: name,
    ceph: {
      cluster: name,
      transport: { kind: "container", socketPath: dockerSocket(name), container: `ceph-mon-${name}` },
      fsid: state.ceph[name]!.fsid,
    },
    volumeType: name,
  });
  return {
    cloud: { cloud: "dcn-lab", cloudsFile: p.cloudsYaml },
    central: site(sites[0]!),
    edges: sites.slice(1).map(site),
    flavor: LAB_FLAVOR,
    network: "none",
    timeouts: {
      imageActive: 120,
      copyImage: 180,
      volumeAvailable: 120,
      volumeUpload: 300,
      serverActive: 120,
      serverStopped: 90,
      snapshotAvailable: 120,
      deletion: 120,
      ...LAB_POLLING,
    },
    // NOTE: one OSD per cluster: pools have size 1. The lab's cinder-backup writes every site's backups to central's
    // cluster, as TripleO DCN's does.
    conformance: {
      minPoolSize: 1,
      nonAdminCloud: { cloud: "dcn-lab-member", cloudsFile: p.cloudsYaml },
      backupsSite: sites[0],
    },
  };
}

/** The first IPv4 address of this machine that is not loopback: Glance's stock filter refuses loopback addresses. */
function externalAddress(): string | undefined {
  for (const addrs of Object.values(networkInterfaces()))
    for (const a of addrs ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  return undefined;
}

/**
 * What the lab fills in of a profile's example (docs/lab.md, Lab profiles): the clouds.yaml path, each site's fsid and
 * how its Ceph is reached (the sshd's host, port and keys; kolla's paths are the example's own), an edge's own
 * Glance API, where the harness serves web-download (port 80 on this machine's own address: stock Glance refuses
 * other ports and loopback), and minPoolSize 1 for the lab's single-OSD pools.
 */
function labOverlay(state: LabState, profile: LabProfileDef): Record<string, unknown> {
  const sites = labSites(state);
  const ssh = state.sshd;
  const site = (name: string, i: number) => ({
    name,
    ceph: {
      fsid: state.ceph[name]!.fsid,
      ...(profile.access.kind === "cephadm" && ssh
        ? { transport: { host: ssh.host, port: ssh.port, identityFile: ssh.identityFile, knownHostsFile: ssh.knownHostsFile } }
        : {}),
    },
    ...(profile.glance.edgeApis && i > 0 ? { glance: { endpoint: `http://127.0.0.1:${edgeGlancePort(sites, name)}` } } : {}),
  });
  const address = externalAddress();
  return {
    cloud: { cloudsFile: paths().cloudsYaml },
    central: site(sites[0]!, 0),
    edges: sites.slice(1).map((n, i) => site(n, i + 1)),
    ...(address ? { webDownload: { bind: address, port: 80, advertiseUrl: `http://${address}:80` } } : {}),
    conformance: { minPoolSize: 1 },
    timeouts: LAB_POLLING,
  };
}
