import { createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { cephTransportSchema, siteSchema } from "../../config/schema.ts";
import {
  type ContainerTransport,
  dockerDemuxer,
  type TransportDef,
  type TransportKind,
  expandPrefix,
  knownHostKeys,
  type SshTransport,
  sshConfig,
  sshDisplay,
} from "./common.ts";
import { defaultContainer, hostVerifier } from "./container.ts";
import { clientArgs, TRANSPORTS } from "./index.ts";
import { sshPrefix } from "./ssh.ts";

const FSID = "0f9ee397-8b6d-483e-8d10-9bbfe358836c";
const ssh = (t: Record<string, unknown>) => cephTransportSchema.parse({ kind: "ssh", ...t }) as SshTransport;
const site = (transport: unknown, extra: Record<string, unknown> = {}) =>
  siteSchema.safeParse({ name: "dcn0", az: "dcn0", store: "dcn0", ceph: { cluster: "dcn0", transport, ...extra } });
const issues = (r: ReturnType<typeof site>) => (r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));

describe("prefix", () => {
  test("the old engine/sudo/container fields are a shorthand for a prefix, podman exec ceph-mon-{host} with sudo by default", () => {
    expect(sshPrefix(ssh({ host: "h" }))).toEqual(["sudo", "-n", "podman", "exec", "ceph-mon-{host}"]);
    expect(sshPrefix(ssh({ host: "h", engine: "docker", sudo: false, container: "ceph-mon-x" }))).toEqual(["docker", "exec", "ceph-mon-x"]);
    expect(sshPrefix(ssh({ host: "h", prefix: [] }))).toEqual([]);
  });

  test("with ceph.fsid pinned, the shorthand's container is cephadm's ceph-{fsid}-mon-{host}; a named one stays", () => {
    expect(sshPrefix(ssh({ host: "h" }), true)).toEqual(["sudo", "-n", "podman", "exec", "ceph-{fsid}-mon-{host}"]);
    expect(sshPrefix(ssh({ host: "h", container: "ceph-mon-x" }), true)).toEqual(["sudo", "-n", "podman", "exec", "ceph-mon-x"]);
    expect(defaultContainer("ctl-0", FSID)).toBe(`ceph-${FSID}-mon-ctl-0`);
    expect(defaultContainer("ctl-0")).toBe("ceph-mon-ctl-0");
  });

  test("placeholders are filled per word, and the host is asked for only when a word needs it", async () => {
    const s = { name: "dcn0", ceph: { cluster: "dcn0", fsid: "f-1", transport: { kind: "local" as const } } };
    let asked = 0;
    const host = async () => (asked++, "ctl-0");
    expect(await expandPrefix(["sudo", "cephadm", "shell", "--fsid", "{fsid}", "--"], s, host)).toEqual([
      "sudo",
      "cephadm",
      "shell",
      "--fsid",
      "f-1",
      "--",
    ]);
    expect(asked).toBe(0);
    expect(await expandPrefix(["sudo", "podman", "exec", "ceph-mon-{host}", "x{cluster}y"], s, host)).toEqual([
      "sudo",
      "podman",
      "exec",
      "ceph-mon-ctl-0",
      "xdcn0y",
    ]);
    expect(asked).toBe(1);
  });

  test("client options come from the site: cluster, id, conf and keyring", () => {
    expect(
      clientArgs({ name: "dcn0", ceph: { cluster: "dcn0", transport: { kind: "none" }, user: "ro", conf: "/c", keyring: "/k" } }),
    ).toEqual(["--cluster", "dcn0", "--id", "ro", "--conf", "/c", "--keyring", "/k"]);
  });
});

describe("no --cluster where the transport's view holds only ceph.conf", () => {
  const args = (transport: Record<string, unknown>, extra: { fsid?: string; conf?: string; keyring?: string } = {}) =>
    clientArgs({ name: "dcn0", ceph: { cluster: "dcn0", user: "openstack", transport: cephTransportSchema.parse(transport), ...extra } });

  test("cephadm: only --id; ceph.conf and ceph.keyring go to cephadm shell instead", () => {
    expect(args({ kind: "cephadm", host: "h" }, { fsid: FSID, conf: "/etc/ceph/dcn0.conf", keyring: "/k" })).toEqual(["--id", "openstack"]);
  });

  test("an ssh or local prefix that runs cephadm … shell", () => {
    expect(args({ kind: "ssh", host: "h", prefix: ["sudo", "cephadm", "shell", "--fsid", "{fsid}", "--"] }, { fsid: FSID })).toEqual([
      "--id",
      "openstack",
    ]);
    expect(args({ kind: "ssh", host: "h", prefix: ["sudo", "/usr/sbin/cephadm", "--image", "i", "shell", "--"] })).toEqual([
      "--id",
      "openstack",
    ]);
    expect(args({ kind: "local", prefix: ["sudo", "cephadm", "shell", "--"] })).toEqual(["--id", "openstack"]);
    expect(args({ kind: "ssh", host: "h", prefix: ["sudo", "cephadm", "ls"] })).toEqual(["--cluster", "dcn0", "--id", "openstack"]);
    expect(args({ kind: "ssh", host: "h", prefix: ["sudo", "shell", "cephadm"] })).toEqual(["--cluster", "dcn0", "--id", "openstack"]);
  });

  test("cephadm's default container (fsid pinned); a named container, or no pinned fsid, keeps --cluster", () => {
    const only = ["--id", "openstack"];
    const all = ["--cluster", "dcn0", "--id", "openstack"];
    expect(args({ kind: "ssh", host: "h" }, { fsid: FSID })).toEqual(only);
    expect(args({ kind: "ssh", host: "h" })).toEqual(all);
    expect(args({ kind: "ssh", host: "h", container: "ceph-mon-dcn0" }, { fsid: FSID })).toEqual(all);
    expect(args({ kind: "container", socketPath: "/s" }, { fsid: FSID })).toEqual(only);
    expect(args({ kind: "container", socketPath: "/s" })).toEqual(all);
    expect(args({ kind: "container", socketPath: "/s", container: "ceph-mon-dcn0" }, { fsid: FSID })).toEqual(all);
  });

  test("local keeps --cluster, and --conf <confDir>/<cluster>.conf", () => {
    expect(args({ kind: "local", confDir: "/srv/ceph" })).toEqual([
      "--cluster",
      "dcn0",
      "--id",
      "openstack",
      "--conf",
      "/srv/ceph/dcn0.conf",
    ]);
  });
});

describe("the registry", () => {
  test("every kind of the config has its transport, none included; a kind without one does not compile", () => {
    const { none: _none, ...withoutNone } = TRANSPORTS;
    // @ts-expect-error none has no entry
    const missing: { [K in TransportKind]: TransportDef<K> } = withoutNone;
    expect(Object.keys(missing)).not.toContain("none");
    expect(Object.keys(TRANSPORTS).sort()).toEqual(["cephadm", "container", "local", "none", "ssh"]);
  });

  test("none opens a transport that refuses every command with NoCephAccessError", async () => {
    const t = TRANSPORTS.none.open(
      { name: "dcn0", ceph: { cluster: "dcn0", transport: { kind: "none", reason: "external" } } },
      { connectTimeoutS: 1 },
    );
    await expect(t.command(["ceph", "-s"], new AbortController().signal)).rejects.toMatchObject({
      name: "NoCephAccessError",
      site: "dcn0",
    });
  });
});

describe("ssh", () => {
  const t = ssh({
    host: "dcn0-ctl-0",
    user: "heat-admin",
    port: 2222,
    identityFile: "/keys/id ed25519",
    jumpHost: "ops@bastion:2200",
    hostKeyChecking: "strict",
    knownHostsFile: "/keys/known_hosts",
    prefix: ["sudo", "cephadm", "shell", "--"],
  });

  test("one ssh_config: the target through its jump host, the same key and known_hosts for both, one shared master", () => {
    expect(t.jumpHost).toEqual({ host: "bastion", user: "ops", port: 2200 });
    expect(sshConfig(t, { controlPath: "/tmp/d/control", connectTimeoutS: 7 })).toBe(
      [
        "Host dcnv-target",
        "  HostName dcn0-ctl-0",
        "  User heat-admin",
        "  Port 2222",
        '  IdentityFile "/keys/id ed25519"',
        "  IdentitiesOnly yes",
        "  ProxyJump dcnv-jump",
        "  ControlMaster no",
        "  ControlPath /tmp/d/control",
        "  ServerAliveInterval 15",
        "  ServerAliveCountMax 3",
        "  BatchMode yes",
        "  ConnectTimeout 7",
        "  LogLevel ERROR",
        "  CheckHostIP no",
        "  StrictHostKeyChecking yes",
        "  UserKnownHostsFile /keys/known_hosts",
        "Host dcnv-jump",
        "  HostName bastion",
        "  User ops",
        "  Port 2200",
        '  IdentityFile "/keys/id ed25519"',
        "  IdentitiesOnly yes",
        "  BatchMode yes",
        "  ConnectTimeout 7",
        "  LogLevel ERROR",
        "  CheckHostIP no",
        "  StrictHostKeyChecking yes",
        "  UserKnownHostsFile /keys/known_hosts",
        "",
      ].join("\n"),
    );
  });

  test("accept-new and off map onto OpenSSH's options; off reads no known_hosts", () => {
    const opts = { controlPath: "/c", connectTimeoutS: 5 };
    expect(sshConfig(ssh({ host: "h", hostKeyChecking: "accept-new" }), opts)).toContain("StrictHostKeyChecking accept-new");
    const off = sshConfig(ssh({ host: "h", hostKeyChecking: "off" }), opts);
    expect(off).toContain("StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  GlobalKnownHostsFile /dev/null");
    expect(sshConfig(ssh({ host: "h" }), opts)).toContain("StrictHostKeyChecking yes");
  });

  test("the evidence reads as one ssh command line", () => {
    expect(sshDisplay(t, "sudo cephadm shell -- rbd --cluster dcn0 ls images")).toBe(
      "ssh -J ops@bastion:2200 -p 2222 -i '/keys/id ed25519' heat-admin@dcn0-ctl-0 'sudo cephadm shell -- rbd --cluster dcn0 ls images'",
    );
  });
});

describe("config", () => {
  test("the fields of each kind validate, and the lab's docker transport still does (as container)", () => {
    expect(issues(site({ kind: "docker", socketPath: "/s.sock", container: "ceph-mon-dcn0" }))).toEqual([]);
    expect(site({ kind: "docker", socketPath: "/s.sock" }).data?.ceph.transport.kind).toBe("container");
    expect(
      issues(site({ kind: "container", host: "10.0.0.5", port: 2376, tls: { ca: "/ca.pem", cert: "/c.pem", key: "/k.pem" } })),
    ).toEqual([]);
    expect(issues(site({ kind: "container", url: "ssh://core@10.0.0.5:22", identityFile: "/id", hostKeyChecking: "accept-new" }))).toEqual(
      [],
    );
    expect(issues(site({ kind: "ssh", host: "h", jumpHost: { host: "j", port: 22, identityFile: "/j" }, prefix: [] }))).toEqual([]);
    expect(issues(site({ kind: "local", prefix: ["sudo"] }, { user: "ro", conf: "/etc/ceph/ro.conf", keyring: "/k" }))).toEqual([]);
    expect(issues(site({ kind: "none", reason: "external Ceph" }))).toEqual([]);
    expect(
      issues(
        site(
          { kind: "ssh", host: "h", prefix: ["sudo", "cephadm", "shell", "--fsid", "{fsid}", "--"] },
          { fsid: "0f9ee397-8b6d-483e-8d10-9bbfe358836c" },
        ),
      ),
    ).toEqual([]);
    expect(
      issues(
        site(
          { kind: "cephadm", host: "h", user: "tripleo-admin", jumpHost: "b", sudo: false, command: "/usr/sbin/cephadm" },
          { fsid: FSID },
        ),
      ),
    ).toEqual([]);
  });

  test("each bad combination is refused naming the field", () => {
    expect(issues(site({ kind: "ssh", host: "h", prefix: ["{hots}"] }))).toEqual([
      "ceph.transport.prefix.0: unknown placeholder {hots} (known: {fsid}, {cluster}, {host})",
    ]);
    expect(issues(site({ kind: "ssh", host: "h", prefix: ["cephadm", "shell", "--fsid", "{fsid}"] }))).toEqual([
      "ceph.transport.prefix.3: {fsid} needs ceph.fsid pinned",
    ]);
    expect(issues(site({ kind: "ssh", host: "h", prefix: ["sudo"], sudo: true }))).toEqual([
      "ceph.transport.prefix: give prefix or the engine/sudo/container shorthand, not both",
    ]);
    expect(issues(site({ kind: "ssh", host: "h", hostKeyChecking: "off", knownHostsFile: "/k" }))).toEqual([
      "ceph.transport.knownHostsFile: hostKeyChecking off reads no known_hosts file",
    ]);
    expect(issues(site({ kind: "ssh", host: "h", jumpHost: "a@b:c" }))).toEqual([
      "ceph.transport.jumpHost: [user@]host[:port], or {host, user, port, identityFile}",
    ]);
    expect(issues(site({ kind: "container", socketPath: "/s", host: "h" }))).toEqual([
      "ceph.transport: give exactly one of socketPath, host or url (given: socketPath, host)",
    ]);
    expect(issues(site({ kind: "container", socketPath: "/s", tls: { ca: "/ca" } }))).toEqual([
      "ceph.transport.tls: tls goes with host (TCP)",
    ]);
    expect(issues(site({ kind: "container", host: "h", tls: { ca: "/ca", cert: "/c" } }))).toEqual([
      "ceph.transport.tls: give cert and key together",
    ]);
    expect(issues(site({ kind: "container", host: "h", identityFile: "/id" }))).toEqual([
      "ceph.transport.identityFile: identityFile goes with url (ssh://)",
    ]);
    expect(issues(site({ kind: "container", url: "tcp://h:2375" }))).toEqual(["ceph.transport.url: ssh://[user@]host[:port]"]);
    expect(issues(site({ kind: "none" }, { user: "ro" }))).toEqual([
      "ceph.transport.kind: none runs no Ceph command: user, conf and keyring do not apply",
    ]);
    expect(issues(site({ kind: "local", confDir: "/etc/ceph" }, { conf: "/c" }))).toEqual([
      "ceph.conf: give conf or transport.confDir, not both",
    ]);
    expect(issues(site({ kind: "podman" }))).toEqual([
      "ceph.transport.kind: kind is one of local, ssh, cephadm, container (docker: the same), none",
    ]);
    expect(issues(site({ kind: "cephadm", host: "h" }))).toEqual([
      "ceph.fsid: the cephadm transport needs ceph.fsid pinned (`cephadm shell --fsid` names the cluster; `ceph fsid` prints it)",
    ]);
    expect(issues(site({ kind: "cephadm", host: "h", prefix: ["sudo"] }, { fsid: FSID }))).toEqual([
      'ceph.transport: Unrecognized key: "prefix"',
    ]);
    expect(issues(site({ kind: "cephadm", host: "h", hostKeyChecking: "off", knownHostsFile: "/k" }, { fsid: FSID }))).toEqual([
      "ceph.transport.knownHostsFile: hostKeyChecking off reads no known_hosts file",
    ]);
  });
});

describe("known hosts of the container API over ssh", () => {
  const dir = mkdtempSync(join(tmpdir(), "dcnv-kh-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const blob = (type: string, body: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(type.length);
    return Buffer.concat([len, Buffer.from(type), body]);
  };
  const key = blob("ssh-ed25519", randomBytes(36));
  const other = blob("ssh-ed25519", randomBytes(36));
  const t = (extra: Partial<ContainerTransport>) => ({ kind: "container", url: "ssh://h", ...extra }) as ContainerTransport;

  test("plain and hashed entries match [host]:port off port 22, and the host alone on 22", () => {
    const salt = randomBytes(20);
    const hashed = `|1|${salt.toString("base64")}|${createHmac("sha1", salt).update("[10.0.0.5]:2222").digest("base64")}`;
    const text = `# c\n10.0.0.5 ssh-rsa AAAA\n${hashed} ssh-ed25519 ${key.toString("base64")}\nh1,h2 ssh-ed25519 BBBB\n`;
    expect(knownHostKeys(text, "10.0.0.5", 2222)).toEqual([{ type: "ssh-ed25519", key: key.toString("base64") }]);
    expect(knownHostKeys(text, "10.0.0.5", 22)).toEqual([{ type: "ssh-rsa", key: "AAAA" }]);
    expect(knownHostKeys(text, "h2", 22)).toEqual([{ type: "ssh-ed25519", key: "BBBB" }]);
  });

  test("strict refuses an unknown host and a changed key; accept-new adds an unknown host once; off takes any key", () => {
    const file = join(dir, "known_hosts");
    writeFileSync(file, "");
    expect(hostVerifier(t({ knownHostsFile: file }), "h", 2222)(key)).toBe(false);
    expect(hostVerifier(t({ knownHostsFile: file, hostKeyChecking: "accept-new" }), "h", 2222)(key)).toBe(true);
    expect(readFileSync(file, "utf8")).toBe(`[h]:2222 ssh-ed25519 ${key.toString("base64")}\n`);
    expect(hostVerifier(t({ knownHostsFile: file }), "h", 2222)(key)).toBe(true);
    expect(hostVerifier(t({ knownHostsFile: file, hostKeyChecking: "accept-new" }), "h", 2222)(other)).toBe(false);
    expect(hostVerifier(t({ hostKeyChecking: "off" }), "h", 2222)(other)).toBe(true);
  });
});

describe("the container API's multiplexed exec stream", () => {
  const frame = (kind: number, data: Buffer) => {
    const h = Buffer.alloc(8);
    h.writeUInt8(kind, 0);
    h.writeUInt32BE(data.length, 4);
    return Buffer.concat([h, data]);
  };

  test("stdout and stderr come apart whole, however the frames and their headers are cut into chunks", () => {
    const out = randomBytes(66_000);
    const stream = Buffer.concat([
      frame(1, out.subarray(0, 65536)),
      frame(2, Buffer.from("warn\n")),
      frame(1, out.subarray(65536)),
      frame(2, Buffer.from("done\n")),
    ]);
    for (const cut of [1, 3, 7, 8, 9, 4096, 65543, stream.length]) {
      const got = { out: [] as Buffer[], err: [] as Buffer[] };
      const demux = dockerDemuxer(
        (c) => got.out.push(c),
        (c) => got.err.push(c),
      );
      for (let at = 0; at < stream.length; at += cut) demux(stream.subarray(at, at + cut));
      expect(Buffer.concat(got.out).equals(out), `chunks of ${cut}`).toBe(true);
      expect(Buffer.concat(got.err).toString(), `chunks of ${cut}`).toBe("warn\ndone\n");
    }
  });

  test("a stream that is not multiplexed is refused, naming the stream type", () => {
    const demux = dockerDemuxer(
      () => undefined,
      () => undefined,
    );
    expect(() => demux(Buffer.from("rbd: error opening pool\n"))).toThrow(/not multiplexed \(stream type 114\)/);
  });
});
