import { z } from "zod";

const siteName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, "a site name is letters, digits, '-' or '_' (at most 63)");

const hostName = z.string().regex(/^[A-Za-z0-9_.:[\]-]+$/, "a host name or address");
const path = z.string().min(1);
const PLACEHOLDERS = ["fsid", "cluster", "host"];

/** An argv template run before `rbd`/`ceph`: {fsid}, {cluster} and {host} (the short host name where it runs) are filled in. */
const prefixSchema = z.array(z.string().min(1)).superRefine((argv, ctx) =>
  argv.forEach((a, i) => {
    for (const m of a.matchAll(/\{([^}]*)\}/g))
      if (!PLACEHOLDERS.includes(m[1]!))
        ctx.addIssue({ code: "custom", path: [i], message: `unknown placeholder {${m[1]}} (known: {fsid}, {cluster}, {host})` });
  }),
);

/** How the ssh client checks the host's key: against known_hosts only, adding a host it has never seen, or not at all. */
const hostKeySchema = z.enum(["strict", "accept-new", "off"]);

/** `[user@]host[:port]`, as ProxyJump takes it, or the same as fields. */
const jumpHostSchema = z.union(
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
        host: hostName,
        user: z.string().min(1).optional(),
        port: z.number().int().min(1).max(65535).optional(),
        /** The target's identityFile when not given. */
        identityFile: path.optional(),
      })
      .strict(),
  ],
  { error: () => "[user@]host[:port], or {host, user, port, identityFile}" },
);

/** The Docker or Podman API: a unix socket, TCP (with TLS when tls is given) or ssh (the remote runs `docker system dial-stdio`). */
const containerTransport = z
  .object({
    kind: z.literal("container"),
    socketPath: path.optional(),
    host: hostName.optional(),
    port: z.number().int().min(1).max(65535).optional(),
    /** Files of the client's TLS: the CA that signed the engine's certificate, and the client certificate and key. */
    tls: z.object({ ca: path, cert: path.optional(), key: path.optional() }).strict().optional(),
    /** `ssh://[user@]host[:port]`: dockerode over ssh. */
    url: z
      .string()
      .regex(/^ssh:\/\/(?:[A-Za-z0-9_.-]+@)?[A-Za-z0-9_.-]+(?::\d{1,5})?\/?$/, "ssh://[user@]host[:port]")
      .optional(),
    identityFile: path.optional(),
    hostKeyChecking: hostKeySchema.optional(),
    knownHostsFile: path.optional(),
    /** Defaults to ceph-mon-<hostname of the engine>. */
    container: z.string().min(1).optional(),
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

export const cephTransportSchema = z.preprocess(
  // NOTE: `docker` is the old name of the container API transport; lab configs and older site files still say it.
  (t) => (t && typeof t === "object" && (t as { kind?: unknown }).kind === "docker" ? { ...t, kind: "container" } : t),
  z.discriminatedUnion(
    "kind",
    [
      containerTransport,
      z
        .object({
          kind: z.literal("ssh"),
          host: hostName,
          user: z.string().min(1).optional(),
          port: z.number().int().min(1).max(65535).optional(),
          identityFile: path.optional(),
          jumpHost: jumpHostSchema.optional(),
          hostKeyChecking: hostKeySchema.optional(),
          /** The known_hosts file to check against (and add to, with accept-new); ssh's own when not given. */
          knownHostsFile: path.optional(),
          /** What runs before rbd/ceph on the host; `[]` runs them on the host itself. Without it, the engine/sudo/container shorthand. */
          prefix: prefixSchema.optional(),
          /** Shorthand for prefix `[sudo -n] <engine> exec <container>`: podman, sudo and ceph-mon-{host} by default. */
          engine: z.enum(["podman", "docker"]).optional(),
          sudo: z.boolean().optional(),
          container: z.string().min(1).optional(),
        })
        .strict()
        .superRefine((t, ctx) => {
          if (t.prefix && (t.engine || t.sudo !== undefined || t.container))
            ctx.addIssue({ code: "custom", path: ["prefix"], message: "give prefix or the engine/sudo/container shorthand, not both" });
          if (t.knownHostsFile && t.hostKeyChecking === "off")
            ctx.addIssue({ code: "custom", path: ["knownHostsFile"], message: "hostKeyChecking off reads no known_hosts file" });
        }),
      z
        .object({
          kind: z.literal("local"),
          /** Directory that holds <cluster>.conf; /etc/ceph when not given. Shorthand for ceph.conf. */
          confDir: path.optional(),
          prefix: prefixSchema.optional(),
        })
        .strict(),
      z
        .object({
          kind: z.literal("none"),
          /** Why the runner cannot reach this site's Ceph, shown beside every check it leaves not verified. */
          reason: z.string().min(1).optional(),
        })
        .strict(),
    ],
    { error: (iss) => (iss.code === "invalid_union" ? "kind is one of local, ssh, container (docker: the same), none" : undefined) },
  ),
);

export const siteSchema = z
  .object({
    name: siteName,
    az: z.string().min(1),
    store: z.string().min(1),
    /** Volume type whose backend is this site's and whose image_service:store_id is its store. */
    volumeType: z.string().min(1).optional(),
    ceph: z
      .object({
        cluster: siteName,
        transport: cephTransportSchema,
        /** Ceph user for the probe (`--id`); admin by default. Its key is never read by the harness. */
        user: z.string().min(1).optional(),
        /** The ceph.conf (`--conf`) and keyring (`--keyring`) the probe's client uses, as paths where the command runs. */
        conf: path.optional(),
        keyring: path.optional(),
        /**
         * The site's cluster identity (`ceph fsid`), pinned: a probe that reaches another cluster fails
         * the site before any evidence is read. `dcn-verify discover` and the lab write it.
         */
        fsid: z
          .string()
          .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, "a Ceph fsid (a UUID, as `ceph fsid` prints it)")
          .transform((f) => f.toLowerCase())
          .optional(),
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
      }),
  })
  .strict();

const seconds = z.number().positive();

export const timeoutsSchema = z
  .object({
    imageActive: seconds.default(300),
    copyImage: seconds.default(600),
    volumeAvailable: seconds.default(300),
    volumeUpload: seconds.default(600),
    serverActive: seconds.default(600),
    serverStopped: seconds.default(300),
    snapshotAvailable: seconds.default(300),
    deletion: seconds.default(300),
    pollInterval: seconds.default(1),
    pollIntervalMax: seconds.default(5),
    /** Imports change state within a second or two: they are polled faster, backing off while nothing changes. */
    importPollInterval: seconds.default(0.2),
    importPollIntervalMax: seconds.default(2),
    request: seconds.default(60),
    /** How long the check that each site's Ceph answers, and is the pinned cluster, may take before the site is called unreachable. */
    cephReach: seconds.default(30),
  })
  .strict();

export const cloudSchema = z.union([
  z
    .object({
      /** Entry name in clouds.yaml. */
      cloud: z.string().min(1),
      cloudsFile: z.string().min(1).optional(),
      region: z.string().min(1).optional(),
      interface: z.enum(["public", "internal", "admin"]).optional(),
    })
    .strict(),
  z
    .object({
      /** Read OS_* variables the way the OpenStack clients do. */
      fromEnv: z.literal(true),
      region: z.string().min(1).optional(),
      interface: z.enum(["public", "internal", "admin"]).optional(),
    })
    .strict(),
]);

export const imageSourceSchema = z.union([
  z.object({ generated: z.object({ sizeMiB: z.number().int().min(1).max(65536).default(64) }).strict() }).strict(),
  z.object({ path: z.string().min(1) }).strict(),
  z
    .object({
      url: z
        .string()
        .url()
        .refine((u) => /^https?:/.test(u), "only http(s) URLs"),
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
    /** Address the harness's image server listens on. */
    bind: z.string().min(1).default("127.0.0.1"),
    /** Its port; 0 picks a free one (only without advertiseUrl). */
    port: z.number().int().min(0).max(65535).default(0),
    /** The server's base URL as Glance reaches it (behind NAT or a proxy); http://<bind>:<port> when not given. */
    advertiseUrl: httpUrl.optional(),
    /** A raw image Glance can fetch: given, the harness starts no server and hashes the image by reading the URI itself. */
    uri: httpUrl.optional(),
    /** A qcow2 image Glance can fetch, for the conversion test when uri is given. */
    qcow2Uri: httpUrl.optional(),
    /** Size of the images the harness serves. */
    sizeMiB: z.number().int().min(1).max(4096).default(8),
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
    imagesPool: z.string().min(1).default("images"),
    volumesPool: z.string().min(1).default("volumes"),
    /** The snapshot Glance's rbd store takes of every image. */
    imageSnapshot: z.string().min(1).default("snap"),
  })
  .strict();

/** What a site's run must achieve; evaluated at the end of the run and shown in the summary. */
export const gateSchema = z
  .object({
    /** Failed tests allowed (known issues not counted). */
    maxFailures: z.number().int().min(0).optional(),
    /** Tests that must have run (passed or failed, not skipped). */
    minTests: z.number().int().min(0).optional(),
    /** The site's tests together may take this long. */
    maxDurationS: z.number().positive().optional(),
    /** Warnings allowed (a warning is a finding that does not fail its test). */
    maxWarnings: z.number().int().min(0).optional(),
    /** Checks allowed to stay not verified (skipped tests, and what a passing test could not look at). */
    maxNotVerified: z.number().int().min(0).optional(),
  })
  .strict();

export const knownIssueSchema = z
  .object({
    test: z.string().min(1),
    /** A site name; all sites when not given. */
    site: z.string().min(1).optional(),
    reason: z.string().min(1),
    link: z.string().url(),
    /** After this day (YYYY-MM-DD) the failure counts again. */
    expires: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, "a date, YYYY-MM-DD")
      .refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)), "not a valid date"),
  })
  .strict();

/** What the deployment conformance checks expect. */
export const conformanceSchema = z
  .object({
    /** Smallest replication size a pool may have (the lab's single-OSD clusters use 1). */
    minPoolSize: z.number().int().min(1).default(3),
    /** The pools Nova and cinder-backup use (images and volumes come from rbd). */
    vmsPool: z.string().min(1).default("vms"),
    backupsPool: z.string().min(1).default("backups"),
    /** The cephx users of the Ceph-with-OpenStack guide. */
    cephUsers: z
      .object({
        glance: z.string().min(1).default("client.glance"),
        cinder: z.string().min(1).default("client.cinder"),
        cinderBackup: z.string().min(1).default("client.cinder-backup"),
      })
      .strict()
      .default({ glance: "client.glance", cinder: "client.cinder", cinderBackup: "client.cinder-backup" }),
    /** A credential without the admin role, for the policy checks; they are skipped without it. */
    nonAdminCloud: cloudSchema.optional(),
    /** At most this many images per site get their rbd features and snapshots inspected. */
    maxImagesChecked: z.number().int().min(1).default(50),
  })
  .strict();

export const configSchema = z
  .object({
    cloud: cloudSchema,
    central: siteSchema,
    edges: z.array(siteSchema).min(1, "at least one edge site"),
    image: z
      .object({
        source: imageSourceSchema.default({ generated: { sizeMiB: 64 } }),
      })
      .strict()
      .default({ source: { generated: { sizeMiB: 64 } } }),
    flavor: z.string().min(1),
    /** "none" boots with networks none (compute microversion >= 2.37). */
    network: z.string().min(1).default("none"),
    volume: z
      .object({
        sizeGiB: z.number().int().min(1).default(1),
        type: z.string().min(1).optional(),
      })
      .strict()
      .default({ sizeGiB: 1 }),
    timeouts: timeoutsSchema.default(timeoutsSchema.parse({})),
    webDownload: webDownloadSchema.default(webDownloadSchema.parse({})),
    rbd: rbdNamingSchema.default(rbdNamingSchema.parse({})),
    naming: z
      .object({
        prefix: z
          .string()
          .regex(/^[a-z][a-z0-9-]{0,15}$/, "lowercase letters, digits and '-', at most 16")
          .default("dcnv"),
      })
      .strict()
      .default({ prefix: "dcnv" }),
    reportsDir: z.string().min(1).default("reports"),
    /** A production cloud: runs are capped at the read-only tier unless --allow-writes is given. */
    production: z.boolean().default(false),
    gates: z
      .object({
        default: gateSchema.default({ maxFailures: 0 }),
        sites: z.record(z.string(), gateSchema).default({}),
      })
      .strict()
      .default({ default: { maxFailures: 0 }, sites: {} }),
    knownIssues: z.array(knownIssueSchema).default([]),
    conformance: conformanceSchema.default(conformanceSchema.parse({})),
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
  });

export type Config = z.infer<typeof configSchema>;
export type Site = z.infer<typeof siteSchema>;
export type CephTransport = z.infer<typeof cephTransportSchema>;
export type Timeouts = z.infer<typeof timeoutsSchema>;
export type WebDownload = z.infer<typeof webDownloadSchema>;
export type Gate = z.infer<typeof gateSchema>;
export type KnownIssue = z.infer<typeof knownIssueSchema>;
