import { z } from "zod";

const siteName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, "a site name is letters, digits, '-' or '_' (at most 63)");

const hostName = z.string().regex(/^[A-Za-z0-9_.:[\]-]+$/, "a host name or address");
const path = z.string().min(1);
const PLACEHOLDERS = ["fsid", "cluster", "host"];

/** An argv template run before `rbd`/`ceph`: {fsid}, {cluster} and {host} (the short host name where it runs) are filled in. */
const prefixSchema = z
  .array(z.string().min(1))
  .superRefine((argv, ctx) =>
    argv.forEach((a, i) => {
      for (const m of a.matchAll(/\{([^}]*)\}/g))
        if (!PLACEHOLDERS.includes(m[1]!))
          ctx.addIssue({ code: "custom", path: [i], message: `unknown placeholder {${m[1]}} (known: {fsid}, {cluster}, {host})` });
    }),
  )
  .describe(
    "The argv run before rbd/ceph, e.g. `[sudo, cephadm, shell, --fsid, '{fsid}', --]` or `[sudo, podman, exec, 'ceph-mon-{host}']`: {fsid} (ceph.fsid), {cluster} and {host} (the short host name where it runs) are filled in; `[]` runs rbd on the host itself.",
  );

/** How the ssh client checks the host's key: against known_hosts only, adding a host it has never seen, or not at all. */
const hostKeySchema = z
  .enum(["strict", "accept-new", "off"])
  .describe(
    "How ssh checks the host's key: strict (the default) against known_hosts only, accept-new adds a host it has not seen, off checks nothing.",
  );

/** `[user@]host[:port]`, as ProxyJump takes it, or the same as fields. */
const jumpHostSchema = z
  .union(
    [
      z
        .string()
        .regex(/^(?:[A-Za-z0-9_.-]+@)?[A-Za-z0-9_.-]+(?::\d{1,5})?$/, "[user@]host[:port]")
        .transform((j) => {
          const m = /^(?:([^@]+)@)?([^:]+)(?::(\d+))?$/.exec(j)!;
          return { host: m[2]!, ...(m[1] ? { user: m[1] } : {}), ...(m[3] ? { port: Number(m[3]) } : {}) };
        }),
      z
        .object({
          host: hostName.describe("The jump host."),
          user: z.string().min(1).optional().describe("The user on the jump host; ssh's own default when not given."),
          port: z.number().int().min(1).max(65535).optional().describe("The jump host's ssh port."),
          identityFile: path.optional().describe("The key offered to the jump host; the target's identityFile when not given."),
        })
        .strict(),
    ],
    { error: () => "[user@]host[:port], or {host, user, port, identityFile}" },
  )
  .describe("A host ssh goes through first (ProxyJump): `[user@]host[:port]` or an object; the same known-hosts policy applies.");

/** The Docker or Podman API: a unix socket, TCP (with TLS when tls is given) or ssh (the remote runs `docker system dial-stdio`). */
const containerTransport = z
  .object({
    kind: z
      .literal("container")
      .describe("A Docker or Podman API runs rbd and ceph in the site's Ceph container (`docker` is the same, its older name)."),
    socketPath: path.optional().describe("Unix socket of the API (give one of socketPath, host or url)."),
    host: hostName.optional().describe("Host of a remote engine's API over TCP; TLS when tls is given."),
    port: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .optional()
      .describe("Port of the remote engine's API; 2375, or 2376 with tls, when not given."),
    tls: z
      .object({
        ca: path.describe("The CA that signed the engine's certificate."),
        cert: path.optional().describe("The client certificate (with key)."),
        key: path.optional().describe("The client certificate's key."),
      })
      .strict()
      .optional()
      .describe("TLS files of the client, as `docker --tlsverify` takes them."),
    url: z
      .string()
      .regex(/^ssh:\/\/(?:[A-Za-z0-9_.-]+@)?[A-Za-z0-9_.-]+(?::\d{1,5})?\/?$/, "ssh://[user@]host[:port]")
      .optional()
      .describe("`ssh://[user@]host[:port]`: the API over ssh (the host runs `docker system dial-stdio`)."),
    identityFile: path.optional().describe("With url: the private key offered; the ssh agent when not given."),
    hostKeyChecking: hostKeySchema.optional(),
    knownHostsFile: path.optional().describe("With url: the known_hosts file; ~/.ssh/known_hosts when not given."),
    container: z
      .string()
      .min(1)
      .optional()
      .describe(
        "The container to exec in (rbd gets --cluster); when not given, cephadm's ceph-<fsid>-mon-<hostname of the engine> with ceph.fsid pinned (only ceph.conf inside: no --cluster), else ceph-mon-<hostname of the engine>.",
      ),
  })
  .strict()
  .superRefine((t, ctx) => {
    const given = [t.socketPath && "socketPath", t.host && "host", t.url && "url"].filter(Boolean);
    if (given.length !== 1)
      ctx.addIssue({
        code: "custom",
        path: [],
        message: `give exactly one of socketPath, host or url (given: ${given.join(", ") || "none"})`,
      });
    if (t.tls && !t.host) ctx.addIssue({ code: "custom", path: ["tls"], message: "tls goes with host (TCP)" });
    if (t.tls && Boolean(t.tls.cert) !== Boolean(t.tls.key))
      ctx.addIssue({ code: "custom", path: ["tls"], message: "give cert and key together" });
    for (const f of ["identityFile", "knownHostsFile"] as const)
      if (t[f] && !t.url) ctx.addIssue({ code: "custom", path: [f], message: `${f} goes with url (ssh://)` });
  });

/** Where ssh goes and how it checks the host: the fields the ssh and cephadm transports share. */
const sshTargetFields = {
  host: hostName.describe("The host to ssh to."),
  user: z.string().min(1).optional().describe("The ssh user; ssh's own default when not given."),
  port: z.number().int().min(1).max(65535).optional().describe("The ssh port; 22 when not given."),
  identityFile: path.optional().describe("The private key ssh offers (BatchMode: no passwords)."),
  jumpHost: jumpHostSchema.optional(),
  hostKeyChecking: hostKeySchema.optional(),
  knownHostsFile: path.optional().describe("The known_hosts file checked (and added to, with accept-new); ssh's own when not given."),
};

const knownHostsChecked = (t: { hostKeyChecking?: string; knownHostsFile?: string }, ctx: z.RefinementCtx) => {
  if (t.knownHostsFile && t.hostKeyChecking === "off")
    ctx.addIssue({ code: "custom", path: ["knownHostsFile"], message: "hostKeyChecking off reads no known_hosts file" });
};

export const cephTransportSchema = z.preprocess(
  // NOTE: `docker` is the old name of the container API transport; lab configs and older site files still say it.
  (t) => (t && typeof t === "object" && (t as { kind?: unknown }).kind === "docker" ? { ...t, kind: "container" } : t),
  z.discriminatedUnion(
    "kind",
    [
      containerTransport,
      z
        .object({
          kind: z
            .literal("ssh")
            .describe(
              "ssh to a host of the site, then `<prefix> rbd|ceph …` there, every command over one connection (ControlMaster). A prefix that runs `cephadm … shell` sees only ceph.conf: rbd gets no --cluster there.",
            ),
          ...sshTargetFields,
          prefix: prefixSchema.optional(),
          engine: z
            .enum(["podman", "docker"])
            .optional()
            .describe("Without prefix: the shorthand prefix `[sudo -n] <engine> exec <container>`; podman when not given."),
          sudo: z.boolean().optional().describe("Without prefix: run the engine with `sudo -n`; true when not given."),
          container: z
            .string()
            .min(1)
            .optional()
            .describe(
              "Without prefix: the container to exec in (rbd gets --cluster); when not given, cephadm's ceph-{fsid}-mon-{host} with ceph.fsid pinned (only ceph.conf inside: no --cluster), else ceph-mon-{host}.",
            ),
        })
        .strict()
        .superRefine((t, ctx) => {
          if (t.prefix && (t.engine || t.sudo !== undefined || t.container))
            ctx.addIssue({ code: "custom", path: ["prefix"], message: "give prefix or the engine/sudo/container shorthand, not both" });
          knownHostsChecked(t, ctx);
        }),
      z
        .object({
          kind: z
            .literal("cephadm")
            .describe(
              "ssh to a Ceph host of the site, then `[sudo -n] cephadm shell --fsid <ceph.fsid> [--config <ceph.conf>] [--keyring <ceph.keyring>] -- rbd|ceph …` there (needs ceph.fsid), every command over one connection. The shell's /etc/ceph holds only ceph.conf and ceph.keyring: rbd and ceph get no --cluster, --conf or --keyring; ceph.user stays --id.",
            ),
          ...sshTargetFields,
          sudo: z.boolean().optional().describe("Run cephadm with `sudo -n`; true when not given."),
          command: z
            .string()
            .min(1)
            .optional()
            .describe("The cephadm command on the host (on its PATH, or a path); cephadm when not given."),
        })
        .strict()
        .superRefine(knownHostsChecked),
      z
        .object({
          kind: z.literal("local").describe("rbd and ceph run on the machine the harness runs on (behind the prefix, if any)."),
          confDir: path
            .optional()
            .describe("Directory that holds <cluster>.conf (as ceph.conf <confDir>/<cluster>.conf); /etc/ceph when not given."),
          prefix: prefixSchema.optional(),
        })
        .strict(),
      z
        .object({
          kind: z
            .literal("none")
            .describe(
              "The harness cannot reach this site's Ceph: every check that needs it is not verified (no Ceph access); the API checks run.",
            ),
          reason: z.string().min(1).optional().describe("Why, shown beside every check left not verified."),
        })
        .strict(),
    ],
    {
      error: (iss) => (iss.code === "invalid_union" ? "kind is one of local, ssh, cephadm, container (docker: the same), none" : undefined),
    },
  ),
);

const poolName = z.string().min(1);

/** A site's pool names where they differ from the cloud-wide ones; a site without a backups pool says so. */
export const sitePoolsSchema = z
  .object({
    images: poolName.optional().describe("Glance's pool at this site; rbd.imagesPool when not given."),
    volumes: poolName.optional().describe("Cinder's pool at this site; rbd.volumesPool when not given."),
    vms: poolName.optional().describe("Nova's pool at this site; conformance.vmsPool when not given."),
    backups: z
      .union([poolName, z.literal(false)])
      .optional()
      .describe(
        "cinder-backup's pool at this site; conformance.backupsPool when not given. false: the site has no backups pool (conf-2 asks for none, conf-14 is not verified there).",
      ),
  })
  .strict();

export const siteSchema = z
  .object({
    name: siteName.describe("The site's name, used in reports, resource names and --sites."),
    az: z.string().min(1).describe("The site's Nova and Cinder availability zone."),
    store: z.string().min(1).describe("The site's Glance store id."),
    volumeType: z
      .string()
      .min(1)
      .optional()
      .describe("Volume type whose backend is this site's and whose image_service:store_id is its store; volume.type when not given."),
    region: z
      .string({ error: "a Keystone region name" })
      .min(1, "a Keystone region name")
      .optional()
      .describe("The Keystone region of this site's Cinder and Nova (and, at central, Glance); the cloud's region when not given."),
    flavor: z.string().min(1).optional().describe("The Nova flavor of this site's servers; the config's flavor when not given."),
    network: z
      .string()
      .min(1)
      .optional()
      .describe("The network this site's servers boot on (\"none\": networks none); the config's network when not given."),
    glance: z
      .object({
        endpoint: z
          .string()
          .url()
          .refine((u) => /^https?:\/\//.test(u), "only http(s) URLs")
          .describe("Its base URL, e.g. `https://glance-az1-internal.openstack.svc:9292` (a trailing /v2 is dropped)."),
      })
      .strict()
      .optional()
      .describe(
        "An edge site's own Glance API, not in the Keystone catalog (RHOSO 18: glance-azN-internal, enabled_backends central's store and the site's, the site's the default): dcn-3b checks it answers with the run's token, defaults to the site's store and serves the image copied there. Without it (and at central, whose Glance is the catalog's) nothing changes.",
      ),
    ceph: z
      .object({
        cluster: siteName.describe(
          "The Ceph cluster name (`--cluster`, <cluster>.conf); not passed where the transport's view holds only ceph.conf (cephadm, a cephadm shell prefix, cephadm's default container).",
        ),
        transport: cephTransportSchema.describe(
          "Where the harness's read-only rbd and ceph commands run: local, ssh, cephadm, container or none.",
        ),
        user: z
          .string()
          .min(1)
          .optional()
          .describe("Ceph user for the probe (`--id`); admin by default. Its key is never read by the harness."),
        conf: path
          .optional()
          .describe(
            "The ceph.conf the probe's client reads (`--conf`), as a path where the command runs; with cephadm, `--config` of cephadm shell, a path on the host.",
          ),
        keyring: path
          .optional()
          .describe(
            "The keyring the probe's client reads (`--keyring`), as a path where the command runs; with cephadm, `--keyring` of cephadm shell, a path on the host.",
          ),
        fsid: z
          .string()
          .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, "a Ceph fsid (a UUID, as `ceph fsid` prints it)")
          .transform((f) => f.toLowerCase())
          .optional()
          .describe(
            "The site's cluster identity (`ceph fsid`), pinned: a probe that reaches another cluster fails the site before any evidence is read; the cephadm transport needs it (`cephadm shell --fsid`). `dcn-verify discover` and the lab write it.",
          ),
        pools: sitePoolsSchema
          .optional()
          .describe(
            "The site's pool names where they differ from the cloud-wide ones (rbd.*, conformance.vmsPool, conformance.backupsPool): every check that reads the site's pools uses them.",
          ),
      })
      .strict()
      .superRefine((c, ctx) => {
        const t = c.transport;
        if (t.kind === "none" && (c.user || c.conf || c.keyring))
          ctx.addIssue({
            code: "custom",
            path: ["transport", "kind"],
            message: "none runs no Ceph command: user, conf and keyring do not apply",
          });
        if (t.kind === "local" && t.confDir && c.conf)
          ctx.addIssue({ code: "custom", path: ["conf"], message: "give conf or transport.confDir, not both" });
        const prefix = "prefix" in t ? t.prefix : undefined;
        const i = prefix?.findIndex((a) => a.includes("{fsid}")) ?? -1;
        if (i >= 0 && !c.fsid) ctx.addIssue({ code: "custom", path: ["transport", "prefix", i], message: "{fsid} needs ceph.fsid pinned" });
        if (t.kind === "cephadm" && !c.fsid)
          ctx.addIssue({
            code: "custom",
            path: ["fsid"],
            message: "the cephadm transport needs ceph.fsid pinned (`cephadm shell --fsid` names the cluster; `ceph fsid` prints it)",
          });
      })
      .describe("The site's own Ceph cluster."),
  })
  .strict();

const seconds = z.number().positive();

export const timeoutsSchema = z
  .object({
    imageActive: seconds.default(300).describe("An image becoming active."),
    copyImage: seconds.default(600).describe("A copy-image import reaching its stores."),
    volumeAvailable: seconds.default(300).describe("A volume becoming available."),
    volumeUpload: seconds.default(600).describe("A volume's upload to an image, and a backup, becoming available."),
    serverActive: seconds.default(600).describe("A server becoming ACTIVE."),
    serverStopped: seconds.default(300).describe("A server stopping (disruptive tier)."),
    snapshotAvailable: seconds.default(300).describe("A volume snapshot becoming available."),
    deletion: seconds.default(300).describe("A deletion finishing."),
    pollInterval: seconds.default(1).describe("First interval between the polls of a wait."),
    pollIntervalMax: seconds.default(5).describe("Longest interval between polls, backing off while nothing changes."),
    importPollInterval: seconds
      .default(0.2)
      .describe("Imports change state within a second or two: they are polled faster, backing off while nothing changes."),
    importPollIntervalMax: seconds.default(2).describe("Longest interval between the polls of an import."),
    request: seconds.default(60).describe("One API request, and one Ceph command."),
    cephReach: seconds
      .default(30)
      .describe(
        "How long the check that each site's Ceph answers, and is the pinned cluster, may take before the site is called unreachable.",
      ),
  })
  .strict();

export const cloudSchema = z.union([
  z
    .object({
      cloud: z.string().min(1).describe("Entry name in clouds.yaml."),
      cloudsFile: z.string().min(1).optional().describe("The clouds.yaml to read; the OpenStack clients' search path when not given."),
      region: z.string().min(1).optional().describe("Region name; OS_REGION_NAME, else the entry's (its first region) when not given."),
      interface: z.enum(["public", "internal", "admin"]).optional().describe("Endpoint interface; the entry's, else public."),
    })
    .strict(),
  z
    .object({
      fromEnv: z.literal(true).describe("Read OS_* variables the way the OpenStack clients do."),
      region: z.string().min(1).optional().describe("Region name; OS_REGION_NAME when not given."),
      interface: z.enum(["public", "internal", "admin"]).optional().describe("Endpoint interface; OS_INTERFACE, else public."),
    })
    .strict(),
]);

export const imageSourceSchema = z.union([
  z
    .object({
      generated: z
        .object({ sizeMiB: z.number().int().min(1).max(65536).default(64).describe("Its size.") })
        .strict()
        .describe("Raw data the harness generates."),
    })
    .strict(),
  z.object({ path: z.string().min(1).describe("A raw or qcow2 file (qcow2 is converted to raw with qemu-img).") }).strict(),
  z
    .object({
      url: z
        .string()
        .url()
        .refine((u) => /^https?:/.test(u), "only http(s) URLs")
        .describe("A raw or qcow2 image the harness downloads first."),
    })
    .strict(),
]);

const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u), "only http(s) URLs");

/** What Glance's web-download fetches: the harness's own HTTP server, or URIs given here. */
export const webDownloadSchema = z
  .object({
    bind: z.string().min(1).default("127.0.0.1").describe("Address the harness's image server listens on."),
    port: z.number().int().min(0).max(65535).default(0).describe("Its port; 0 picks a free one (only without advertiseUrl)."),
    advertiseUrl: httpUrl
      .optional()
      .describe("The server's base URL as Glance reaches it (behind NAT or a proxy); http://<bind>:<port> when not given."),
    uri: httpUrl
      .optional()
      .describe("A raw image Glance can fetch: given, the harness starts no server and hashes the image by reading the URI itself."),
    qcow2Uri: httpUrl.optional().describe("A qcow2 image Glance can fetch, for the conversion test when uri is given."),
    sizeMiB: z.number().int().min(1).max(4096).default(8).describe("Size of the images the harness serves."),
  })
  .strict()
  .superRefine((w, ctx) => {
    if (w.advertiseUrl && w.port === 0)
      ctx.addIssue({ code: "custom", path: ["port"], message: "give the fixed port advertiseUrl forwards to (0 picks a random one)" });
    if (w.qcow2Uri && !w.uri) ctx.addIssue({ code: "custom", path: ["qcow2Uri"], message: "qcow2Uri needs uri as well" });
  });

/** How Glance and Cinder name things in Ceph. */
export const rbdNamingSchema = z
  .object({
    imagesPool: z.string().min(1).default("images").describe("Glance's pool at every site that names no other (ceph.pools.images)."),
    volumesPool: z.string().min(1).default("volumes").describe("Cinder's pool at every site that names no other (ceph.pools.volumes)."),
    imageSnapshot: z.string().min(1).default("snap").describe("The snapshot Glance's rbd store takes of every image."),
  })
  .strict();

/** What a site's run must achieve; evaluated at the end of the run and shown in the summary. */
export const gateSchema = z
  .object({
    maxFailures: z
      .number()
      .int()
      .min(0)
      .max(0, "only 0: a failed test that no live known issue covers fails the site whatever the gates say; cover it with knownIssues")
      .optional()
      .describe(
        "0 only, kept for old configs: a failed test that no live known issue covers always fails its site; the gates only add reasons to fail.",
      ),
    minTests: z.number().int().min(0).optional().describe("Tests that must have run (passed or failed, not skipped)."),
    maxDurationS: z.number().positive().optional().describe("Seconds the site's tests together may take."),
    maxWarnings: z.number().int().min(0).optional().describe("Warnings allowed (a warning is a finding that does not fail its test)."),
    maxNotVerified: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe("Checks allowed to stay not verified (skipped tests, and what a passing test could not look at)."),
    maxNotVerifiedInTier: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe(
        "Checks allowed to stay not verified for a reason other than the run's tier (a missing credential, an earlier failure, what the API hid). A run given --tier explicitly gets 0 unless set here.",
      ),
  })
  .strict();

export const knownIssueSchema = z
  .object({
    test: z.string().min(1).describe("The test id (as in `dcn-verify plan`)."),
    site: z.string().min(1).optional().describe("A site name; all sites when not given."),
    match: z
      .string()
      .min(1)
      .refine((p) => {
        try {
          new RegExp(p);
          return true;
        } catch {
          return false;
        }
      }, "not a valid regular expression")
      .describe(
        "What the known issue covers: a regular expression (JavaScript syntax, case-insensitive) that the failure's message must match. A failure of the test it does not match counts.",
      ),
    category: z
      .enum(["product", "infrastructure", "harness"])
      .optional()
      .describe("Covers only failures of this category; any category when not given."),
    reason: z.string().min(1).describe("Why the failure is known, shown in the reports."),
    link: z.string().url().describe("The bug or ticket."),
    expires: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, "a date, YYYY-MM-DD")
      .refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)), "not a valid date")
      .describe("After this day (YYYY-MM-DD) the failure counts again."),
  })
  .strict();

export const poolRoles = ["images", "volumes", "vms", "backups"] as const;
export type PoolRole = (typeof poolRoles)[number];

export const cephUserNeedSchema = z
  .object({
    pool: z
      .enum(poolRoles)
      .describe(
        "Which of the site's pools, by role: its name at each site comes from ceph.pools, else rbd.imagesPool, rbd.volumesPool, conformance.vmsPool or conformance.backupsPool.",
      ),
    access: z
      .enum(["rwx", "r"])
      .describe(
        "rwx: reads and writes rbd images there ('profile rbd', 'allow rwx'); r: reads them and may not write ('profile rbd-read-only', 'allow rx').",
      ),
  })
  .strict();

export const cephUserSchema = z
  .object({
    user: z
      .string()
      .regex(/^client\.\S+$/, "a cephx client name, client.<id>")
      .describe("The cephx user, as client.<id>."),
    needs: z
      .array(cephUserNeedSchema)
      .min(1, "at least one pool")
      .describe("What it must be able to do. A write grant on any other pool, or on every pool, is a finding."),
  })
  .strict();
export type CephUser = z.infer<typeof cephUserSchema>;

/** The users and caps of the Ceph-with-OpenStack guide (its osd caps; mon 'profile rbd' or 'allow r'). */
export function guideCephUsers(names: { glance: string; cinder: string; cinderBackup: string }): CephUser[] {
  return [
    { user: names.glance, needs: [{ pool: "images", access: "rwx" }] },
    {
      user: names.cinder,
      needs: [
        { pool: "volumes", access: "rwx" },
        { pool: "vms", access: "rwx" },
        { pool: "images", access: "r" },
      ],
    },
    { user: names.cinderBackup, needs: [{ pool: "backups", access: "rwx" }] },
  ];
}

export const GUIDE_CEPH_USERS = guideCephUsers({ glance: "client.glance", cinder: "client.cinder", cinderBackup: "client.cinder-backup" });

/** The earlier form, the guide's three users under other names: read as the guide's caps. */
const legacyCephUsersSchema = z
  .object({
    glance: z.string().min(1).default("client.glance").describe("Glance's user: images rwx."),
    cinder: z.string().min(1).default("client.cinder").describe("Cinder's and Nova's user: volumes and vms rwx, images r."),
    cinderBackup: z.string().min(1).default("client.cinder-backup").describe("cinder-backup's user: backups rwx."),
  })
  .strict()
  .transform(guideCephUsers);

export const cephUsersSchema = z
  .union([z.array(cephUserSchema).min(1, "at least one user"), legacyCephUsersSchema])
  .describe(
    "The cephx users conf-4 judges at every site, and what each must be able to do. The default follows distribution: osp17 and rhoso18 have one client.openstack with images, volumes, vms and backups rwx (tripleo-docs ceph_external); kolla, or no distribution, the guide's client.glance (images rwx), client.cinder (volumes and vms rwx, images r) and client.cinder-backup (backups rwx). A shared user lists every pool it serves. The earlier map {glance, cinder, cinderBackup} of user names is still read, as the guide's caps.",
  );

export const DISTRIBUTIONS = ["osp17", "rhoso18", "kolla"] as const;
export type Distribution = (typeof DISTRIBUTIONS)[number];

/** One user for every OpenStack pool, backups included (tripleo-docs ceph_external: "a single user ... to use all the OpenStack pools"). */
export const OPENSTACK_CEPH_USERS: CephUser[] = [
  { user: "client.openstack", needs: (["images", "volumes", "vms", "backups"] as const).map((pool) => ({ pool, access: "rwx" as const })) },
];

/** conformance.cephUsers where the config gives none, by distribution. */
export const DISTRIBUTION_CEPH_USERS = {
  osp17: OPENSTACK_CEPH_USERS,
  // NOTE: RHOSO 18's DCN example (openstack-k8s-operators/architecture dt/dcn) keeps TripleO's one user, `openstack`.
  rhoso18: OPENSTACK_CEPH_USERS,
  // NOTE: kolla-ansible's external Ceph guide names glance, cinder and cinder-backup: the guide's three users.
  kolla: GUIDE_CEPH_USERS,
} as const satisfies Record<Distribution, CephUser[]>;

/** What the deployment conformance checks expect. */
export const conformanceSchema = z
  .object({
    minPoolSize: z
      .number()
      .int()
      .min(1)
      .default(3)
      .describe("Smallest replication size a pool may have (the lab's single-OSD clusters use 1)."),
    vmsPool: z.string().min(1).default("vms").describe("Nova's pool at every site that names no other (ceph.pools.vms)."),
    backupsPool: z
      .string()
      .min(1)
      .default("backups")
      .describe("cinder-backup's pool at every site that names no other (ceph.pools.backups)."),
    backupsSite: z
      .union([siteName, z.literal(false)])
      .optional()
      .describe(
        "The site whose backups pool every site's backups land in, where the deployment sends them all to one cluster (TripleO DCN, RHOSO and kolla: central's); conf-14 looks for each site's backup there and fails when it lands elsewhere. false: the cloud takes no backups (conf-14 and the canary backup are not verified). When not given: central's under distribution, else each site's own backups pool.",
      ),
    backupSites: z
      .array(siteName)
      .min(1)
      .optional()
      .describe(
        "The sites whose volumes can be backed up: those with a cinder-backup service in their AZ (Cinder schedules a backup in its volume's AZ, cinder/scheduler/host_manager.py get_backup_host). conf-14 and the canary backup are not applicable elsewhere. When not given: central alone under distribution (osp17, rhoso18 and kolla run cinder-backup at central only), else every edge (conf-14 runs at central only when this lists it).",
      ),
    cephUsers: cephUsersSchema.optional(),
    nonAdminCloud: cloudSchema
      .optional()
      .describe("A credential without the admin role, for the policy checks; they are skipped without it."),
    maxImagesChecked: z
      .number()
      .int()
      .min(1)
      .default(50)
      .describe("At most this many images per site get their rbd features and snapshots inspected."),
  })
  .strict();

export const configSchema = z
  .object({
    cloud: cloudSchema.describe("The admin credential: a clouds.yaml entry, or the OS_* variables."),
    distribution: z
      .enum(DISTRIBUTIONS)
      .optional()
      .describe(
        "The distribution's shape, for defaults only (any field given wins): osp17 and rhoso18 judge one client.openstack with every pool, backups included (conformance.cephUsers); all three send every backup to central (conformance.backupsSite), and their edges have no backups pool (ceph.pools.backups false).",
      ),
    central: siteSchema.describe("The central site."),
    edges: z.array(siteSchema).min(1, "at least one edge site").describe("The edge sites, each shaped as central."),
    image: z
      .object({
        source: imageSourceSchema
          .default({ generated: { sizeMiB: 64 } })
          .describe("The image the procedure uploads: generated, a file, or a URL."),
      })
      .strict()
      .default({ source: { generated: { sizeMiB: 64 } } })
      .describe("The image the procedure uploads."),
    flavor: z.string().min(1).describe("The Nova flavor of the servers the procedure boots."),
    network: z
      .string()
      .min(1)
      .default("none")
      .describe('The network servers boot on; "none" boots with networks none (compute microversion >= 2.37).'),
    volume: z
      .object({
        sizeGiB: z.number().int().min(1).default(1).describe("Size of the volumes the harness makes."),
        type: z.string().min(1).optional().describe("Volume type where a site gives none; the cloud's default type when not given."),
      })
      .strict()
      .default({ sizeGiB: 1 })
      .describe("The volumes the harness makes."),
    timeouts: timeoutsSchema.default(timeoutsSchema.parse({})).describe("Limits of each kind of wait, and poll intervals, in seconds."),
    webDownload: webDownloadSchema
      .default(webDownloadSchema.parse({}))
      .describe("What Glance's web-download fetches: the harness's own HTTP server, or URIs given here."),
    rbd: rbdNamingSchema.default(rbdNamingSchema.parse({})).describe("How Glance and Cinder name things in Ceph."),
    naming: z
      .object({
        prefix: z
          .string()
          .regex(/^[a-z][a-z0-9-]{0,15}$/, "lowercase letters, digits and '-', at most 16")
          .default("dcnv")
          .describe("Every resource is named <prefix>-<run id>-<site>-<what>."),
      })
      .strict()
      .default({ prefix: "dcnv" })
      .describe("How the harness names what it creates."),
    reportsDir: z.string().min(1).default("reports").describe("Where runs write their reports (reports/<run id>/)."),
    production: z
      .boolean()
      .default(false)
      .describe("A production cloud: runs are capped at the read-only tier unless --allow-writes is given."),
    gates: z
      .object({
        default: gateSchema.default({ maxFailures: 0 }).describe("What each site's run must achieve."),
        sites: z.record(z.string(), gateSchema).default({}).describe("A site's own gate, by site name, in place of the default."),
      })
      .strict()
      .default({ default: { maxFailures: 0 }, sites: {} })
      .describe("What a site's run must achieve; evaluated at the end of the run and shown in the summary."),
    knownIssues: z.array(knownIssueSchema).default([]).describe("Failures covered by a known issue until it expires."),
    conformance: conformanceSchema.default(conformanceSchema.parse({})).describe("What the deployment conformance checks expect."),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const all = [cfg.central, ...cfg.edges];
    const seen = new Map<string, number>();
    all.forEach((s, i) => {
      const path = i === 0 ? ["central", "name"] : ["edges", i - 1, "name"];
      if (seen.has(s.name)) ctx.addIssue({ code: "custom", path, message: `site name '${s.name}' is used twice` });
      seen.set(s.name, i);
    });
    const names = new Set(all.map((s) => s.name));
    for (const site of Object.keys(cfg.gates.sites)) {
      if (!names.has(site))
        ctx.addIssue({
          code: "custom",
          path: ["gates", "sites", site],
          message: `no site '${site}' in the config (sites: ${[...names].join(", ")})`,
        });
    }
    cfg.knownIssues.forEach((k, i) => {
      if (k.site && !names.has(k.site))
        ctx.addIssue({
          code: "custom",
          path: ["knownIssues", i, "site"],
          message: `no site '${k.site}' in the config (sites: ${[...names].join(", ")})`,
        });
    });
    const stores = new Set<string>();
    all.forEach((s, i) => {
      const path = i === 0 ? ["central", "store"] : ["edges", i - 1, "store"];
      if (stores.has(s.store)) ctx.addIssue({ code: "custom", path, message: `Glance store '${s.store}' is used by two sites` });
      stores.add(s.store);
    });
    const fsids = new Map<string, string>();
    all.forEach((s, i) => {
      const fsid = s.ceph.fsid;
      if (!fsid) return;
      const path = i === 0 ? ["central", "ceph", "fsid"] : ["edges", i - 1, "ceph", "fsid"];
      const other = fsids.get(fsid);
      if (other)
        ctx.addIssue({ code: "custom", path, message: `Ceph fsid ${fsid} is pinned for ${other} as well: each site has its own cluster` });
      fsids.set(fsid, s.name);
    });
  })
  .transform(withDistributionDefaults)
  .superRefine((cfg, ctx) => {
    const names = [cfg.central, ...cfg.edges].map((x) => x.name);
    for (const [i, n] of (cfg.conformance.backupSites ?? []).entries())
      if (!names.includes(n))
        ctx.addIssue({
          code: "custom",
          path: ["conformance", "backupSites", i],
          message: `no site '${n}' in the config (sites: ${names.join(", ")})`,
        });
    const backupsSite = cfg.conformance.backupsSite;
    if (backupsSite === undefined || backupsSite === false) return;
    const all = [cfg.central, ...cfg.edges];
    const backupsAt = all.find((s) => s.name === backupsSite);
    const d = cfg.distribution;
    if (!backupsAt)
      ctx.addIssue({
        code: "custom",
        path: ["conformance", "backupsSite"],
        message: `no site '${backupsSite}' in the config (sites: ${all.map((s) => s.name).join(", ")})`,
      });
    else if (backupsAt.ceph.pools?.backups === false)
      ctx.addIssue({
        code: "custom",
        path: ["conformance", "backupsSite"],
        message:
          `site '${backupsSite}' has no backups pool (its ceph.pools.backups is false${d && backupsAt !== cfg.central ? `, an edge's default under distribution ${d}` : ""})` +
          (d ? `; under distribution ${d} backups land at central unless conformance.backupsSite names another site (false: none)` : ""),
      });
  });

/**
 * The defaults distribution sets, under the fields the config left out: conformance.cephUsers, conformance.backupsSite
 * (central's name) and the edges' ceph.pools.backups (false). Without distribution: the guide's users, each site's own pool.
 * NOTE: TripleO DCN's cinder-backup "will only write to the backups pool of the central Ceph cluster"; RHOSO 18 runs one
 * cinderBackup at az0; kolla's cinder_backup_ceph_backend is one cluster. None gives an edge a backups pool of its own.
 */
function withDistributionDefaults<
  C extends {
    distribution?: Distribution;
    central: { name: string };
    edges: Site[];
    conformance: { backupsSite?: string | false; backupSites?: string[]; cephUsers?: CephUser[] };
  },
>(cfg: C) {
  const d = cfg.distribution;
  const noOwnBackups = (e: Site): Site =>
    e.ceph.pools?.backups !== undefined ? e : { ...e, ceph: { ...e.ceph, pools: { ...e.ceph.pools, backups: false } } };
  return {
    ...cfg,
    edges: d ? cfg.edges.map(noOwnBackups) : cfg.edges,
    conformance: {
      ...cfg.conformance,
      cephUsers: cfg.conformance.cephUsers ?? (d ? DISTRIBUTION_CEPH_USERS[d] : GUIDE_CEPH_USERS),
      backupsSite: cfg.conformance.backupsSite ?? (d ? cfg.central.name : undefined),
      backupSites: cfg.conformance.backupSites ?? (d ? [cfg.central.name] : undefined),
    },
  };
}

export type Config = z.infer<typeof configSchema>;
export type Site = z.infer<typeof siteSchema>;
export type CephTransport = z.infer<typeof cephTransportSchema>;
export type Timeouts = z.infer<typeof timeoutsSchema>;
export type WebDownload = z.infer<typeof webDownloadSchema>;
export type Gate = z.infer<typeof gateSchema>;
export type KnownIssue = z.infer<typeof knownIssueSchema>;
