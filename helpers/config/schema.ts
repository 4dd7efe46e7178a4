import { z } from "zod";

const siteName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, "a site name is letters, digits, '-' or '_' (at most 63)");

export const cephTransportSchema = z.discriminatedUnion("kind", [
  z
    .object({
      kind: z.literal("docker"),
      /** Unix socket of a Docker or Podman API; or host/port for a remote engine. */
      socketPath: z.string().min(1).optional(),
      host: z.string().min(1).optional(),
      port: z.number().int().positive().optional(),
      /** Defaults to ceph-mon-<hostname of the engine>. */
      container: z.string().min(1).optional(),
    })
    .strict()
    .refine((t) => Boolean(t.socketPath) !== Boolean(t.host), {
      message: "give exactly one of socketPath or host",
    }),
  z
    .object({
      kind: z.literal("ssh"),
      host: z.string().min(1),
      user: z.string().min(1).optional(),
      port: z.number().int().positive().optional(),
      identityFile: z.string().min(1).optional(),
      engine: z.enum(["podman", "docker"]).default("podman"),
      sudo: z.boolean().default(true),
      container: z.string().min(1).optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal("local"),
      /** Directory that holds <cluster>.conf; /etc/ceph when not given. */
      confDir: z.string().min(1).optional(),
    })
    .strict(),
]);

export const siteSchema = z
  .object({
    name: siteName,
    az: z.string().min(1),
    store: z.string().min(1),
    /** Volume type whose backend is this site's and whose image_service:store_id is its store. */
    volumeType: z.string().min(1).optional(),
    /** The Keystone region of this site's Cinder and Nova (and, at central, Glance); the cloud's region when not given. */
    region: z.string({ error: "a Keystone region name" }).min(1, "a Keystone region name").optional(),
    ceph: z
      .object({
        cluster: siteName,
        transport: cephTransportSchema,
        /** Ceph user for the probe; admin by default. Its key is never read by the harness. */
        user: z.string().min(1).optional(),
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
      .strict(),
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
