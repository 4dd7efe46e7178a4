import { writeFileSync } from "node:fs";
import { stringify } from "yaml";
import { openClients } from "../helpers/clients/index.ts";
import { loadConfig } from "../helpers/config/load.ts";
import { cloudSchema, DISTRIBUTIONS, type Distribution, type Timeouts } from "../helpers/config/schema.ts";
import { redactText } from "../helpers/core/redact.ts";
import { configFromDiscovery, type Discovery, discover, FILL, toFill } from "../helpers/ops/discover.ts";
import { configPathOf, parseCommand } from "./args.ts";

const USAGE = `usage: dcn-verify discover (--cloud NAME [--clouds-file FILE] | --config FILE) [--distribution osp17|rhoso18|kolla] [--out FILE]
  Builds a site config from the cloud: Glance stores, Nova and Cinder AZs, Cinder's volume services and backends
  (and the Ceph cluster each writes to). Prints the config (or writes it to --out) and, on stderr, where they
  disagree: a store without an AZ, an AZ without a volume service or store, names that differ. Exits 1 when
  there are findings. The Ceph transports are left as { kind: local } for you to fill in; with --distribution,
  each site's Ceph access is that distribution's (osp17: cephadm as tripleo-admin; rhoso18: cephadm as
  cloud-admin; kolla: local with cinder's conf and keyring under /etc/kolla/config/cinder), with the hosts
  left as ${FILL} values (listed on stderr) that the config refuses until they are filled in.`;

export async function discoverCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(
    argv,
    {
      cloud: { type: "string" },
      "clouds-file": { type: "string" },
      config: { type: "string" },
      distribution: { type: "string" },
      out: { type: "string" },
    },
    USAGE,
  );
  if (typeof parsed === "number") return parsed;
  const args = parsed.values;
  if (args.cloud && args.config) {
    process.stderr.write(`dcn-verify discover: give --cloud or --config, not both\n`);
    return 2;
  }
  const distribution = args.distribution as Distribution | undefined;
  if (distribution !== undefined && !DISTRIBUTIONS.includes(distribution)) {
    process.stderr.write(`dcn-verify discover: --distribution is one of ${DISTRIBUTIONS.join(", ")} (given: ${distribution})\n`);
    return 2;
  }
  let cloud: Record<string, unknown>;
  let timeouts: Timeouts;
  try {
    if (args.cloud) {
      cloud = cloudSchema.parse({ cloud: args.cloud, ...(args["clouds-file"] ? { cloudsFile: args["clouds-file"] } : {}) });
      timeouts = (await import("../helpers/config/schema.ts")).timeoutsSchema.parse({});
    } else {
      const cfg = await loadConfig(configPathOf(args.config));
      cloud = cfg.cloud;
      timeouts = cfg.timeouts;
    }
  } catch (e) {
    process.stderr.write(`dcn-verify discover: ${redactText((e as Error).message)}\n`);
    return 2;
  }
  let d: Discovery;
  try {
    const clients = await openClients({ cloud: cloud as never, timeouts });
    d = await discover(clients);
  } catch (e) {
    process.stderr.write(`dcn-verify discover: ${redactText((e as Error).message)}\n`);
    return 1;
  }
  const config = configFromDiscovery(d, cloud, distribution);
  const fills = toFill(config);
  const hint = distribution
    ? `# distribution ${distribution}: fill in each ${FILL} value (the config is refused until then)`
    : "# set each site's ceph.transport to how the harness reaches that cluster";
  const yaml = `# dcn-verify config discovered ${new Date().toISOString()}\n${hint}\n${stringify(config)}`;
  if (args.out) writeFileSync(args.out, yaml, { mode: 0o600 });
  else process.stdout.write(yaml);
  for (const s of d.sites) {
    process.stderr.write(
      `site ${s.name}: store${s.default ? " (default)" : ""}, Nova AZ ${s.novaAz ? `${s.novaAz.upHosts.length}/${s.novaAz.hosts.length} hosts up` : "MISSING"}, ` +
        `Cinder AZ ${s.cinderAz ? (s.cinderAz.available ? "available" : "unavailable") : "MISSING"}, volume services ${s.volumeServices.filter((v) => v.up).length}/${s.volumeServices.length} up, ` +
        `backends ${s.backends.map((b) => `${b.pool}${b.cluster ? ` -> ceph ${b.cluster}` : ""}`).join(", ") || "none"}\n`,
    );
  }
  for (const f of fills) process.stderr.write(`FILL IN ${f.path}: ${f.what}\n`);
  for (const f of d.findings) process.stderr.write(`FINDING ${f}\n`);
  if (!d.findings.length) process.stderr.write("no inconsistencies found\n");
  return d.findings.length ? 1 : 0;
}
