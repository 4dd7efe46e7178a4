import { describe, expect, test } from "vitest";
import { checkReadOnly, needsKeyStrip, redactSecrets, stripKeys } from "./readonly.ts";

const KEY = "AQBvxyFnAAAAABAAk2Zr6b0mJ4dS5rQb8f8Jxw==";

describe("checkReadOnly", () => {
  test.each([
    ["rbd -p volumes ls -l --format json"],
    ["rbd --cluster dcn0 -p volumes ls -l"],
    ["rbd ls volumes"],
    ["rbd list -l --pool=images --format=json"],
    ["rbd info images/8083c7e7@snap --format json"],
    ["rbd snap ls images/8083c7e7 --format json"],
    ["rbd snap list --all volumes/volume-1"],
    ["rbd du volumes/volume-1"],
    ["rbd diff volumes/volume-1 --from-snap s1 --whole-object"],
    ["rbd status volumes/volume-1"],
    ["rbd children --descendants images/8083c7e7@snap"],
    ["rbd export images/8083c7e7@snap -"],
    ["rbd export --no-progress volumes/volume-1 -"],
    ["rbd --id glance -p images ls"],
    ["ceph -s"],
    ["ceph -s --format json"],
    ["ceph status -f json-pretty"],
    ["ceph health detail"],
    ["ceph df"],
    ["ceph fsid --format json"],
    ["ceph version"],
    ["ceph versions"],
    ["ceph osd pool ls detail"],
    ["ceph osd pool get volumes size"],
    ["ceph osd dump --format json"],
    ["ceph auth get client.glance --format json"],
    ["ceph --cluster dcn0 auth get client.admin --format=json-pretty"],
  ])("accepts %s", (cmd) => {
    expect(checkReadOnly(cmd.split(" "), { cluster: "dcn0" })).toEqual({ ok: true });
  });

  test.each([
    ["rbd rm volumes/x", /not a read-only command/],
    ["rbd -p volumes remove x", /not a read-only command/],
    ["rbd create --size 1 volumes/x", /--size is not on the read-only allowlist/],
    ["rbd snap rm images/x@snap", /'rbd snap rm images\/x@snap' is not a read-only/],
    ["rbd snap create images/x@s2", /not a read-only/],
    ["rbd snap unprotect images/x@snap", /not a read-only/],
    ["rbd snap purge images/x", /not a read-only/],
    ["rbd flatten volumes/x", /not a read-only/],
    ["rbd clone images/x@snap volumes/y", /not a read-only/],
    ["rbd export images/x@snap /tmp/out.raw", /only write to stdout/],
    ["rbd export images/x@snap", /only write to stdout/],
    ["rbd import /tmp/x volumes/x", /not a read-only/],
    ["rbd export-diff images/x -", /not a read-only/],
    ["rbd ls volumes extra", /takes 0 to 1 argument/],
    ["rbd --cluster dcn1 ls", /not this site's cluster \(dcn0\)/],
    ["rbd --cluster=central ls", /not this site's cluster/],
    ["rbd -c /etc/ceph/dcn1.conf ls", /-c is not accepted/],
    ["rbd --conf=/etc/ceph/dcn1.conf ls", /--conf is not accepted/],
    ["rbd --keyring /etc/ceph/x.keyring ls", /--keyring is not accepted/],
    ["ceph -k /etc/ceph/x.keyring -s", /-k is not accepted/],
    ["ceph -m 10.0.0.1:6789 -s", /-m is not accepted/],
    ["rbd ls -- -x", /'--' is not accepted/],
    ["rbd ls --format yaml", /unknown format/],
    ["ceph osd pool delete volumes volumes --yes-i-really-really-mean-it", /not on the read-only allowlist/],
    ["ceph osd pool rm volumes", /not a read-only command/],
    ["ceph osd pool set volumes size 2", /not a read-only command/],
    ["ceph auth get client.admin", /only with --format json/],
    ["ceph auth ls", /not a read-only command/],
    ["ceph auth export", /not a read-only command/],
    ["ceph auth get-key client.admin", /not a read-only command/],
    ["ceph auth print-key client.admin", /not a read-only command/],
    ["ceph config set mon x y", /not a read-only command/],
    ["ceph tell osd.0 bench", /not a read-only command/],
    ["ceph", /'ceph' is not a read-only command/],
    ["ceph -w", /-w is not on the read-only allowlist/],
    ["ceph -s osd pool rm volumes", /ceph -s takes no command words/],
    ["ceph health mute", /only detail may follow/],
    ["ceph health mute X", /takes 0 to 1 argument/],
    ["rados -p volumes ls", /only rbd and ceph may run/],
    ["/usr/bin/rbd ls", /only rbd and ceph may run/],
    ["sh -c rbd", /only rbd and ceph may run/],
  ])("refuses %s", (cmd, why) => {
    const r = checkReadOnly(cmd.split(" "), { cluster: "dcn0" });
    expect(r.ok).toBe(false);
    expect(r.ok ? "" : r.reason).toMatch(why);
  });

  test("refuses an empty argv", () => {
    expect(checkReadOnly([]).ok).toBe(false);
  });

  test("accepts any --cluster when no cluster is pinned", () => {
    expect(checkReadOnly(["rbd", "--cluster", "dcn1", "ls"])).toEqual({ ok: true });
  });
});

describe("key handling", () => {
  test("needsKeyStrip spots ceph auth behind global options", () => {
    expect(needsKeyStrip(["ceph", "--cluster", "dcn0", "auth", "get", "client.admin", "--format", "json"])).toBe(true);
    expect(needsKeyStrip(["ceph", "-s"])).toBe(false);
    expect(needsKeyStrip(["rbd", "ls", "auth"])).toBe(false);
  });

  test("stripKeys removes key fields and keeps caps", () => {
    const out = stripKeys(JSON.stringify([{ entity: "client.glance", key: KEY, caps: { mon: "profile rbd" } }]));
    expect(JSON.parse(out)).toEqual([{ entity: "client.glance", caps: { mon: "profile rbd" } }]);
    expect(out).not.toContain(KEY);
  });

  test("stripKeys redacts non-JSON keyring text", () => {
    const out = stripKeys(`[client.admin]\n\tkey = ${KEY}\n\tcaps mon = "allow *"\n`);
    expect(out).not.toContain(KEY);
    expect(out).toContain('caps mon = "allow *"');
  });

  test.each([[`key = ${KEY}`], [`{"entity":"client.admin","key": "${KEY}"}`], [`auth: unable to use ${KEY} for client.admin`]])(
    "redactSecrets hides %s",
    (text) => {
      const out = redactSecrets(text);
      expect(out).not.toContain(KEY);
      expect(out).toContain("[REDACTED]");
    },
  );
});
