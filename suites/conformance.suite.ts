import { createReadStream, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { type CapsRead, capsOf, judgeCephUsers, needsAt, poolDetails, rbdUsage, usersAt } from "../helpers/ceph/conformance.ts";
import { type SiteBackends, siteBackends, siteZones } from "../helpers/checks/backends.ts";
import { type BackupsPoolRead, judgeBackupLanding, judgeBackupServices } from "../helpers/checks/backup.ts";
import { importMethodsUsed, methodsDisabled } from "../helpers/checks/imports.ts";
import { isImageGone, isNoCephAccess, noAccessReason, noneReason } from "../helpers/ceph/probe.ts";
import { checkData } from "../helpers/checks/data.ts";
import { defect, imageEvidence } from "../helpers/checks/evidence.ts";
import { type Clients, openClients } from "../helpers/clients/index.ts";
import { sha512Of } from "../helpers/core/digest.ts";
import { isApiError } from "../helpers/core/http.ts";
import type { SiteContext } from "../helpers/harness/context.ts";
import { backupsTarget, sitePools } from "../helpers/config/pools.ts";
import type { CephUser, Site } from "../helpers/config/schema.ts";
import { attachJson, attachText, info, notVerified, outcome, step, warning } from "../helpers/harness/steps.ts";
import { backupsNotApplicable, tierAllows } from "../helpers/harness/catalog.ts";
import { defineSuite, type SiteSuite, skipTest } from "../helpers/harness/suite.ts";
import { generateRawImage } from "../helpers/images/source.ts";

function conformanceSuite(s: SiteSuite): void {
  const { ctx, site, run, test } = s;

  /** A conformance finding: what was expected, what was found, and how to fix it. */
  function finding(c: SiteContext, f: { expected: string; found: string; fix: string }): never {
    defect(c, `expected ${f.expected}; found ${f.found}; fix: ${f.fix}`);
  }

  /** Where the site sits in the config, for messages naming a field. */
  function siteField(c: SiteContext): string {
    const i = c.config.edges.findIndex((e) => e.name === c.site.name);
    return i < 0 ? "central" : `edges[${i}]`;
  }

  /** The config's non-admin credential's clients, for the policy checks; undefined when there is none. */
  async function nonAdminClients(c: SiteContext): Promise<Clients | undefined> {
    const cloud = c.config.conformance.nonAdminCloud;
    return cloud ? openClients({ cloud, timeouts: c.config.timeouts }) : undefined;
  }

  /** A raw file of sizeMiB with dataMiB of non-zero bytes at its start and holes after. */
  async function sparseFile(path: string, sizeMiB: number, dataMiB: number): Promise<void> {
    const fh = await open(path, "w", 0o600);
    try {
      await fh.truncate(sizeMiB * 1024 * 1024);
      await fh.write(Buffer.alloc(dataMiB * 1024 * 1024, 0x5a), 0, dataMiB * 1024 * 1024, 0);
    } finally {
      await fh.close();
    }
  }

  /** A raw file's bytes in an image in the site's store, active. */
  function imageInStore(c: SiteContext, what: string, path: string) {
    return c.create.uploadedImage(what, createReadStream(path), { store: c.site.store, size: statSync(path).size });
  }

  s.describe(`deployment conformance at ${site}`, () => {
    test(
      {
        id: "conf-1-ceph-health",
        title: `Ceph at ${site} is healthy (HEALTH_WARN reported with its reasons, HEALTH_ERR fails)`,
        where: "every",
        tier: "read-only",
      },
      async () => {
        const c = ctx();
        const h = await step(`ceph health on ${site}'s cluster`, () => c.probe(c.site).health());
        await attachJson("ceph health", h);
        const reasons = Object.entries(h.checks).map(
          ([k, v]) => `${k}: ${(v as { summary?: { message?: string } }).summary?.message ?? ""}`,
        );
        if (h.status === "HEALTH_ERR")
          finding(c, {
            expected: "HEALTH_OK",
            found: `HEALTH_ERR (${reasons.join("; ")})`,
            fix: "resolve the health errors ('ceph health detail') before relying on this site",
          });
        if (h.status === "HEALTH_WARN") await warning(`Ceph at ${site} is HEALTH_WARN`, reasons.join("\n"));
      },
    );

    test(
      {
        id: "conf-2-ceph-pools",
        title: `the pools images, volumes, vms and backups exist at ${site} with enough replicas`,
        where: "every",
        tier: "read-only",
      },
      async () => {
        const c = ctx();
        const { minPoolSize } = c.config.conformance;
        const mine = sitePools(c.config, c.site);
        const pools = await step(`ceph osd pool ls detail on ${site}'s cluster`, () => poolDetails(c.probe(c.site)));
        await attachJson(
          "pools",
          pools.map((p) => ({ name: p.pool_name, size: p.size, min_size: p.min_size })),
        );
        const want = [mine.images, mine.volumes, mine.vms, ...(mine.backups ? [mine.backups] : [])];
        if (!mine.backups)
          await outcome(`${site} has no backups pool`, `${siteField(c)}.ceph.pools.backups is false: no backups pool is asked for`);
        await step(`pools ${want.join(", ")} exist`, async () => {
          const missing = want.filter((w) => !pools.some((p) => p.pool_name === w));
          if (missing.length)
            finding(c, {
              expected: `pools ${want.join(", ")}`,
              found: `no pool ${missing.join(", ")} (pools: ${pools.map((p) => p.pool_name).join(", ")})`,
              fix: `create them ('ceph osd pool create <name>', then 'rbd pool init <name>')`,
            });
        });
        await step(`each has a replication size of at least ${minPoolSize}`, async () => {
          const small = pools.filter((p) => want.includes(p.pool_name) && p.size < minPoolSize);
          if (small.length)
            finding(c, {
              expected: `size >= ${minPoolSize} (conformance.minPoolSize)`,
              found: small.map((p) => `${p.pool_name} size ${p.size}`).join(", "),
              fix: "'ceph osd pool set <pool> size <n>'",
            });
        });
      },
    );

    test(
      {
        id: "conf-3-ceph-image-snapshots",
        title: `the rbd images in ${site}'s images pool have layering and protected snapshots`,
        where: "every",
        tier: "read-only",
        createsWhenWritable: ["image (1 MiB raw, the site's store), only when the images pool is empty"],
      },
      async (t) => {
        const c = ctx();
        const pool = sitePools(c.config, c.site).images;
        const list = async () => {
          const entries = await step(`rbd ls -l ${pool} on ${site}'s cluster`, () => c.probe(c.site).rbdList(pool));
          return [...new Set(entries.filter((e) => !e.snapshot).map((e) => e.image))];
        };
        let images = await list();
        // An empty pool has nothing to judge: where the tier allows writes, Glance is given an image of the run's to write there.
        if (!images.length && tierAllows(run.tier, "standard")) {
          const path = join(c.workDir, `layering-${site}.raw`);
          await generateRawImage(path, 1, `${c.run.runId}-layering`);
          await step(`the pool is empty: upload a 1 MiB raw image to store ${c.site.store}`, () => imageInStore(c, "layering", path));
          images = await list();
        }
        if (!images.length)
          return skipTest(
            t,
            `the ${pool} pool on ${site}'s cluster holds no rbd image: there are no layering or snapshots to look at (run the procedure or copy an image to ${c.site.store} first)`,
          );
        const checked = images.slice(0, c.config.conformance.maxImagesChecked);
        if (images.length > checked.length)
          await notVerified(
            `${images.length - checked.length} of ${images.length} images in ${site}'s ${pool} pool`,
            `conformance.maxImagesChecked (${checked.length}) bounds the rbd info calls: ${images.slice(checked.length, checked.length + 10).join(", ")}${images.length - checked.length > 10 ? ", ..." : ""} not looked at`,
          );
        const noLayering: string[] = [];
        const unprotected: string[] = [];
        await step(`rbd info and rbd snap ls of ${checked.length} image(s)`, async () => {
          for (const image of checked) {
            let read;
            try {
              read = await Promise.all([c.probe(c.site).rbdInfo(pool, image), c.probe(c.site).rbdSnapshots(pool, image)]);
            } catch (e) {
              // NOTE: an image deleted after the listing (another test's, running at the same site) has nothing left to judge.
              if (isImageGone(e)) continue;
              throw e;
            }
            const [info, snaps] = read;
            if (!(info.features ?? []).includes("layering"))
              noLayering.push(`${image} (features: ${(info.features ?? []).join(", ") || "none"})`);
            for (const s of snaps.filter((x) => !x.protected)) unprotected.push(`${pool}/${image}@${s.name}`);
          }
        });
        await step("every image has the layering feature copy-on-write needs", async () => {
          if (noLayering.length)
            finding(c, {
              expected: "the layering feature on every image",
              found: `none on ${noLayering.join("; ")}`,
              fix: "'rbd feature enable' cannot add layering: re-upload the images (rbd_default_features must include layering)",
            });
        });
        await step("every Glance image snapshot is protected", async () => {
          if (unprotected.length)
            finding(c, {
              expected: "protected snapshots (Cinder clones from them)",
              found: `unprotected ${unprotected.join(", ")}`,
              fix: "'rbd snap protect <pool>/<image>@<snap>'",
            });
        });
      },
    );

    test(
      {
        id: "conf-4-ceph-caps",
        title: `the cephx users at ${site} have the capabilities they need and no more`,
        where: "every",
        tier: "read-only",
      },
      async (t) => {
        const c = ctx();
        const pools = sitePools(c.config, c.site);
        const users = usersAt(c.config.conformance.cephUsers, pools);
        if (!users.length)
          return skipTest(
            t,
            `no user in conformance.cephUsers needs a pool ${site} has (${Object.values(pools).join(", ")}): there are no caps to judge`,
          );
        const needsOf = (u: CephUser) => needsAt(u, pools).needs.map((n) => `${n.pool} ${n.access}`);
        const reads = new Map<string, CapsRead>();
        for (const u of users) {
          await step(`ceph auth get ${u.user}: needs ${needsOf(u).join(", ")}, nothing more`, async () => {
            const r = await capsOf(c.probe(c.site), u.user);
            await attachJson(`${u.user} caps (key not read into the report)`, r);
            reads.set(u.user, r);
          });
        }
        const { findings, unreadable } = judgeCephUsers(users, reads, pools, { backups: c.config.conformance.backupsPool });
        const who = `the probe's cephx user (${c.site.ceph.user ? `client.${c.site.ceph.user.replace(/^client\./, "")}` : "the default, client.admin"})`;
        const why = `${who} may not read caps: ${unreadable.join("; ")}. Give conf-4 a probe user whose mon caps allow 'auth get', or read the caps as an admin.`;
        if (unreadable.length === users.length) return skipTest(t, why);
        if (unreadable.length) await notVerified(`the caps of ${unreadable.length} of ${users.length} cephx users at ${site}`, why);
        if (findings.length)
          finding(c, {
            expected: `the caps conformance.cephUsers gives (${users.map((u) => `${u.user}: ${needsOf(u).join(", ")}`).join("; ")}), mon 'profile rbd' or 'allow r'`,
            found: findings.join("; "),
            fix: '\'ceph auth caps <user> mon "profile rbd" osd "profile rbd pool=<each pool it writes>, profile rbd-read-only pool=<each pool it reads>"\'',
          });
      },
    );

    test(
      {
        id: "conf-5-cinder-backend",
        title: `an enabled, up cinder-volume serves AZ ${site} and writes to ${site}'s cluster`,
        where: "every",
        tier: "read-only",
        admin: { why: "Cinder's backend pools (scheduler-stats) are admin-only" },
      },
      async (t) => {
        const c = ctx();
        let b: SiteBackends;
        try {
          b = await siteBackends(c, { upOnly: true });
        } catch (e) {
          if (isApiError(e, 403))
            return skipTest(t, "Cinder's services and backend pools are admin-only: this check needs an admin credential");
          throw e;
        }
        if (!b.services.length) {
          const mine = (await c.clients.volume.listServices({ binary: "cinder-volume" })).filter((s) => s.zone === c.site.az);
          finding(c, {
            expected: `an enabled, up cinder-volume in AZ ${c.site.az}`,
            found: mine.length ? mine.map((s) => `${s.host} ${s.status}/${s.state}`).join(", ") : "none",
            fix: `start cinder-volume for the ${site} backend, with backend_availability_zone = ${c.site.az}`,
          });
        }
        if (!b.backends.length || b.elsewhere.length) {
          finding(c, {
            expected: `backends writing to ${site}'s cluster (fsid ${b.fsid})`,
            found: b.backends.length
              ? b.elsewhere.map((p) => `${p.pool} -> ${p.fsid ?? "no RBD location_info"}`).join(", ")
              : "no backend pool reported",
            fix: `set rbd_ceph_conf/rbd_cluster_name of the ${site} backend to ${site}'s cluster`,
          });
        }
      },
    );

    test(
      {
        id: "conf-6-nova-az",
        title: `Nova AZ ${site} has an enabled, up compute host, and Nova and Cinder share the AZ name`,
        where: "every",
        tier: "read-only",
        admin: { why: "Nova's hypervisors, services and aggregates are admin-only" },
      },
      async () => {
        const c = ctx();
        const z = await siteZones(c);
        if (!z.upHosts.length) {
          finding(c, {
            expected: `Nova AZ ${c.site.az} with an enabled, up compute host`,
            found: z.novaZone
              ? `AZ ${c.site.az} with no such host`
              : `no Nova AZ ${c.site.az} (AZs: ${z.nova.map((x) => x.zoneName).join(", ")})`,
            fix: `add the site's compute hosts to the aggregate of AZ ${c.site.az} ('openstack aggregate add host')`,
          });
        }
        if (!z.cinderZone)
          finding(c, {
            expected: `Cinder AZ ${c.site.az}, named as Nova's`,
            found: `Cinder AZs ${z.cinder.map((x) => x.zoneName).join(", ")}`,
            fix: `set backend_availability_zone = ${c.site.az} for the ${site} backend`,
          });
      },
    );

    centralChecks();
    test(
      {
        id: "conf-13-images-sparse",
        title: `a sparse raw image in store ${site} occupies less than its size in Ceph where thin provisioning is on`,
        where: "every",
        tier: "standard",
        creates: ["sparse raw image (64 MiB, 1 MiB of data) in the site's store"],
      },
      async () => {
        const c = ctx();
        const path = join(c.workDir, `sparse-${site}.raw`);
        await sparseFile(path, 64, 1);
        const img = await step(`upload a 64 MiB sparse raw image (1 MiB of data, at its start) to store ${c.site.store}`, () =>
          imageInStore(c, "sparse", path),
        );
        const pool = sitePools(c.config, c.site).images;
        const usage = await step(`rbd du ${pool}/${img.id} on ${site}'s cluster`, () => rbdUsage(c.probe(c.site), pool, img.id));
        // NOTE: Glance's stores detail connects to every store's cluster; one that does not answer holds glance-api for its timeout.
        const down = c.sites.find((s) => c.unreachable(s.name));
        const detail = down ? undefined : await c.clients.image.listStoresDetail().catch(() => undefined);
        const thin = detail?.find((s) => s.id === c.site.store)?.properties.thin_provisioning;
        await attachJson("usage", { ...usage, thinProvisioning: thin ?? "not reported by Glance" });
        const sparse = usage.used < usage.provisioned;
        await step(
          `thin provisioning in store ${c.site.store}: ${thin === undefined ? "not reported" : thin ? "on" : "off"}; ${usage.used} of ${usage.provisioned} bytes used`,
          async () => {
            if (thin === true && !sparse)
              finding(c, {
                expected: "less used than provisioned (thin provisioning is on)",
                found: `${usage.used} of ${usage.provisioned} bytes`,
                fix: "check rbd_thin_provisioning in the store's section of glance-api.conf",
              });
            if (!sparse)
              await warning(
                `store ${c.site.store} writes sparse images in full`,
                `${usage.used} of ${usage.provisioned} bytes used: set rbd_thin_provisioning = True in the store's section of glance-api.conf`,
              );
          },
        );
      },
    );

    edgeChecks();
  });

  /** Glance, Cinder's AZ fallback and hidden images: one cloud-wide check each, reported at central. */
  function centralChecks(): void {
    test(
      {
        id: "conf-7-glance-import-methods",
        title: "Glance enables copy-image, and the import methods this run's tests use",
        where: "central",
        tier: "read-only",
      },
      async () => {
        const c = ctx();
        const answer = await c.clients.image.getImportInfo();
        const methods = answer["import-methods"].value;
        await attachJson("GET /v2/info/import", answer);
        const used = importMethodsUsed(run);
        await attachJson("import methods this run's tests use, besides copy-image", Object.fromEntries(used));
        if (!methods.includes("copy-image"))
          finding(c, {
            expected: "copy-image among the import methods (DCN copies each image to the edge stores with it)",
            found: `[${methods.join(", ")}]`,
            fix: "add copy-image to enabled_import_methods in glance-api.conf (TripleO: GlanceEnabledImportMethods)",
          });
        // NOTE: a method only some tests use is no DCN requirement: those tests end not verified, with this reason.
        for (const [method, tests] of used) {
          const off = methodsDisabled(methods, [method], c.config.distribution);
          if (off) await info(`${method} is not enabled: ${tests.join(", ")} end not verified`, off);
        }
      },
    );

    test(
      {
        id: "conf-8-glance-disk-formats",
        title: "raw is an allowed Glance disk format (the allowed formats are listed)",
        where: "central",
        tier: "read-only",
      },
      async () => {
        const c = ctx();
        const { diskFormats } = await c.clients.image.getImageSchema();
        await attachText("allowed disk formats", diskFormats.join(", "));
        if (!diskFormats.includes("raw"))
          finding(c, {
            expected: "raw among the allowed disk formats",
            found: diskFormats.join(", "),
            fix: "add raw to [image_format] disk_formats in glance-api.conf",
          });
      },
    );

    test(
      {
        id: "conf-9-glance-locations-exposure",
        title: "image locations reach the services; whether a non-admin user sees them is reported",
        where: "central",
        tier: "standard",
        creates: ["image (1 MiB raw) of the non-admin user"],
      },
      async (t) => {
        const c = ctx();
        const member = await nonAdminClients(c);
        if (!member) return skipTest(t, "no conformance.nonAdminCloud in the config: there is no non-admin credential to look with");
        const _name = c.name("member-image");
        const img = await step("as the non-admin user, upload a 1 MiB raw image", () =>
          c.create.uploadedImage("member-image", Buffer.alloc(1024 * 1024, 5), { size: 1024 * 1024, as: member }),
        );
        await step("as admin, the image shows its rbd location (what Cinder and Nova need to clone)", async () => {
          const admin = await c.clients.image.showImage(img.id);
          await attachJson("admin's view", imageEvidence(admin));
          if (!admin.locations?.length && !admin.direct_url)
            finding(c, {
              expected: "locations visible to the services (admin)",
              found: "no locations and no direct_url",
              fix: "set show_multiple_locations or show_image_direct_url in glance-api.conf so Cinder can clone",
            });
        });
        await step("as the non-admin user, look for direct_url and locations", async () => {
          const seen = await member.image.showImage(img.id);
          await attachJson("non-admin's view", { direct_url: seen.direct_url, locations: seen.locations });
          if (seen.direct_url || seen.locations?.length) {
            await warning(
              "security: a non-admin user sees the image's backend location",
              `direct_url ${seen.direct_url ?? "-"}, ${seen.locations?.length ?? 0} location(s): the Ceph guide warns this exposes the backend. Glance shows locations to whoever may read the image when show_multiple_locations or show_image_direct_url is on (the get_image_location policy is not checked on GET): serve users from a glance-api with both off, and the services (Cinder, Nova, and dcn-verify through the internal interface) from one with them on.`,
            );
          }
        });
      },
    );

    test(
      {
        id: "conf-10-glance-metadef-policy",
        title: "whether a non-admin user may create a metadef namespace is reported: refused passes, allowed is a warning (open policy)",
        where: "central",
        tier: "standard",
        creates: ["metadef namespace, only if the policy lets a non-admin user create one"],
      },
      async (t) => {
        const c = ctx();
        const member = await nonAdminClients(c);
        if (!member) return skipTest(t, "no conformance.nonAdminCloud in the config: there is no non-admin credential to try with");
        const ns = c.name("policy-check");
        await step(`as the non-admin user, POST /v2/metadefs/namespaces ${ns}`, async () => {
          try {
            await member.image.createMetadefNamespace(ns);
          } catch (e) {
            if (isApiError(e, 403)) {
              await attachText("refused", (e as Error).message);
              return;
            }
            throw e;
          }
          await c.clients.image.deleteMetadefNamespace(ns);
          await warning(
            "the metadef API is open to non-admin users",
            `a non-admin user created namespace ${ns} (deleted again). Glance's hardened policy makes metadef writes admin-only: set the add_metadef_namespace policy to role:admin.`,
          );
        });
      },
    );

    test(
      {
        id: "conf-11-cinder-az-fallback",
        title: "Cinder refuses a volume in an AZ that has no backend (no AZ fallback)",
        where: "central",
        tier: "standard",
        creates: ["volume in an AZ that does not exist, only if Cinder accepts it"],
        holds: { volumes: 1 },
      },
      async () => {
        const c = ctx();
        const az = `${c.name("no-such-az")}`;
        await step(`create a 1 GiB volume in AZ ${az}`, async () => {
          try {
            const v = await c.create.volume("az-fallback", { size: 1, az, settle: false });
            finding(c, {
              expected: "HTTP 400 for an AZ with no backend",
              found: `volume ${v.id} accepted (in AZ ${v.availability_zone ?? "?"})`,
              fix: "set allow_availability_zone_fallback = False in cinder.conf, so a volume never lands outside its site",
            });
          } catch (e) {
            if (!isApiError(e, 400)) throw e;
            await attachText("refused", (e as Error).message);
          }
        });
      },
    );

    test(
      {
        id: "conf-12-images-hidden",
        title: "a hidden image (os_hidden) is left out of the default listing and shown when asked for",
        where: "central",
        tier: "standard",
        creates: ["image with os_hidden"],
      },
      async () => {
        const c = ctx();
        const img = await step("create an image with os_hidden true", async () => {
          const i = await c.create.image("hidden");
          await c.clients.image.updateImage(i.id, [{ op: "add", path: "/os_hidden", value: true }]);
          return i;
        });
        const [plain, hidden] = await step("list images by name, without and with os_hidden=true", () =>
          Promise.all([
            c.clients.image.listImages({ name: img.name ?? "" }),
            c.clients.image.listImages({ name: img.name ?? "", os_hidden: "true" }),
          ]),
        );
        if (plain.some((i) => i.id === img.id))
          finding(c, {
            expected: "the hidden image left out of the default listing",
            found: "it is listed",
            fix: "Glance older than Rocky ignores os_hidden: upgrade",
          });
        if (!hidden.some((i) => i.id === img.id))
          finding(c, {
            expected: "the hidden image listed with os_hidden=true",
            found: "it is not",
            fix: "check Glance's os_hidden support",
          });
      },
    );
  }

  function edgeChecks(): void {
    test(
      {
        id: "conf-14-cinder-backup",
        title: `a backup of a volume at ${site} lands in the backups pool and restores to the same data`,
        where: "every",
        tier: "standard",
        creates: ["image (site's store), volume from it, its backup, a volume restored from the backup"],
        holds: { volumes: 2, backups: 1 },
        notApplicable: (cfg, s) =>
          s.name === cfg.central.name && !cfg.conformance.backupSites
            ? `conf-14 judges the edges' backups unless conformance.backupSites lists ${s.name}`
            : backupsNotApplicable(cfg, s),
      },
      async (t) => {
        const c = ctx();
        const { volume } = c.clients;
        const meant = backupsTarget(c.config, c.site);
        if (meant.kind === "none") return skipTest(t, meant.reason);
        const { site: landsAt, pool: landsIn, source } = meant;
        const named = source === "conformance.backupsSite";
        if (!landsIn)
          return skipTest(
            t,
            named
              ? `${landsAt.name}, where conformance.backupsSite sends every backup, has no backups pool: there is nowhere for a backup to land`
              : `${site} has no backups pool (${siteField(c)}.ceph.pools.backups is false): there is no backup at ${site} to make`,
          );
        const services = await step(`a cinder-backup service is enabled and up in AZ ${c.site.az}`, async () => {
          const all = await volume.listServices({ binary: "cinder-backup" });
          await attachJson("cinder-backup services", all);
          return judgeBackupServices(all, c.site.az);
        });
        if (services.kind === "none") return skipTest(t, "Cinder lists no cinder-backup service: the cloud offers no backups");
        if (services.kind === "down")
          finding(c, {
            expected: `an enabled, up cinder-backup service in AZ ${c.site.az}`,
            found: services.detail,
            fix: `start (or enable) cinder-backup for ${site}, with storage_availability_zone = ${c.site.az}`,
          });
        const path = join(c.workDir, `backup-src-${site}.raw`);
        await generateRawImage(path, 8, `${c.run.runId}-backup`);
        const img = await step(`upload an 8 MiB raw image to store ${c.site.store}`, () => imageInStore(c, "backup-src", path));
        const src = await step(`create a volume from it in AZ ${c.site.az}`, () =>
          c.create.volume("backup-src-volume", { size: 1, imageRef: img.id }),
        );
        const backup = await step("back the volume up", async () => {
          const b = await c.create.backup("backup", src.id);
          await attachJson("backup", b);
          return b;
        });
        await step(`the backup is in the backups pool it is meant for: ${landsIn} at ${landsAt.name} (${source})`, async () => {
          const read = async (at: Site, pool: string): Promise<BackupsPoolRead> => {
            if (!c.hasCeph(at)) return { site: at.name, pool, noAccess: noAccessReason(noneReason(at)) };
            try {
              return { site: at.name, pool, images: (await c.probe(at).rbdList(pool)).map((e) => e.image) };
            } catch (e) {
              if (isNoCephAccess(e)) return { site: at.name, pool, noAccess: noAccessReason(e.reason) };
              // NOTE: a probe user without caps on the pool (kolla's client.cinder on backups) cannot look: not verified.
              const denied = /Operation not permitted|Permission denied|\bEACCES\b|\bEPERM\b/.exec((e as Error).message);
              if (denied)
                return {
                  site: at.name,
                  pool,
                  noAccess: `the probe's cephx user (client.${at.ceph.user ?? "admin"}) may not list pool ${pool} at ${at.name} (${denied[0]}); give ceph.user a user with read caps on it`,
                };
              return { site: at.name, pool, error: e };
            }
          };
          const expected = await read(landsAt, landsIn);
          const landing = judgeBackupLanding(backup.id, expected, []);
          if (landing.kind === "landed") return attachText("backup found in", landing.where);
          if (landing.kind === "not-verified") return notVerified(`backup ${backup.id} in ${landsIn} at ${landsAt.name}`, landing.reason);
          if (landing.kind === "unread") throw landing.error;
          const others = await Promise.all(
            c.sites.flatMap((x) => {
              const pool = sitePools(c.config, x).backups;
              return x !== landsAt && pool && c.hasCeph(x) ? [read(x, pool)] : [];
            }),
          );
          const where = judgeBackupLanding(backup.id, expected, others);
          if (where.kind !== "missing") return;
          await attachJson("backups pools read", {
            expected: `${landsAt.name}'s ${landsIn}`,
            elsewhere: where.elsewhere,
            unread: where.unread,
          });
          finding(c, {
            expected: `an rbd image for backup ${backup.id} in ${landsAt.name}'s backups pool ${landsIn} (${source})`,
            found:
              (where.elsewhere.length ? `it in ${where.elsewhere.join(", ")} instead` : "none in any configured site's backups pool") +
              (where.unread.length ? `; not read: ${where.unread.join("; ")}` : ""),
            fix: named
              ? `point cinder-backup for ${site} at ${landsAt.name}'s cluster (backup_ceph_conf, backup_ceph_pool = ${landsIn}), as conformance.backupsSite says, or correct conformance.backupsSite`
              : `point cinder-backup for ${site} at its own cluster (backup_driver = cinder.backup.drivers.ceph.CephBackupDriver, backup_ceph_conf, backup_ceph_pool = ${landsIn}); where the deployment sends every backup to one site (TripleO DCN: central), name it in conformance.backupsSite`,
          });
        });
        const target = await step(`restore it into a new volume in AZ ${c.site.az}`, async () => {
          const v = await c.create.volume("backup-restored", { size: 1 });
          await volume.restoreBackup(backup.id, v.id);
          await c.create.volumeStatus(v.id, "available");
          await c.create.backupAvailable(backup.id);
          return v;
        });
        const known = await sha512Of(createReadStream(path));
        const written = { sha512: known.sha512, sizeBytes: known.bytes };
        const volumes = sitePools(c.config, c.site).volumes;
        await checkData(c, c.site, `${volumes}/volume-${src.id}`, written, { what: "the backed-up volume" });
        await checkData(c, c.site, `${volumes}/volume-${target.id}`, written, {
          what: "the restored volume",
          exactBytes: target.size * 1024 ** 3,
        });
      },
    );
  }
}

export default defineSuite("conformance", conformanceSuite);
