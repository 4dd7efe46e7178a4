import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../helpers/core/package-root.ts";

/** Every command, one line each, in the order --help lists them. */
export const COMMANDS: readonly { name: string; summary: string }[] = [
  { name: "run", summary: "run the DCN verification procedure: central's checks and each edge site's, in parallel" },
  { name: "plan", summary: "dry run: per site, the tests, their tier and what they would create" },
  { name: "doctor", summary: "check the config, credentials, catalog, endpoints and Ceph access; a line per check" },
  { name: "discover", summary: "write a config from the cloud's stores, AZs and backends, and list where they disagree" },
  { name: "cleanup", summary: "delete what earlier runs left behind, only what carries their run id and mark" },
  { name: "diff", summary: "compare two runs of one cloud: new, fixed and regressed tests, durations" },
  { name: "merge", summary: "join the run directories of a sharded run (one per CI job) into one run" },
  { name: "canary", summary: "storage canaries for upgrades: plant before, verify after, remove when done" },
  { name: "metrics", summary: "print a finished run's results in Prometheus's text format" },
  { name: "render", summary: "render Kubernetes manifests that run dcn-verify (render k8s)" },
  { name: "lab", summary: "the embedded DCN lab on this machine: up, status, down, faults (a checkout only)" },
];

export function version(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string }).version;
}

export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "usage: dcn-verify <command> [options]",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "options:",
    "  -h, --help     this help (also: dcn-verify help [command])",
    "  -V, --version  the version of dcn-verify",
    "",
    "dcn-verify <command> --help shows a command's options.",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
    case "-h":
    case "--help":
      process.stdout.write(`${usage()}\n`);
      return 0;
    case "help":
      // dcn-verify help <command> is <command> --help.
      if (rest[0] !== undefined && COMMANDS.some((c) => c.name === rest[0])) return main([rest[0], "--help"]);
      if (rest[0] !== undefined) {
        process.stderr.write(`dcn-verify help: unknown command '${rest[0]}'\n${usage()}\n`);
        return 2;
      }
      process.stdout.write(`${usage()}\n`);
      return 0;
    case "-V":
    case "--version":
      process.stdout.write(`${version()}\n`);
      return 0;
    case "lab": {
      if (!existsSync(join(PACKAGE_ROOT, "lab", "cli.ts"))) {
        process.stderr.write("dcn-verify lab: the embedded lab comes with a checkout of dcn-verify, not with the installed package\n");
        return 2;
      }
      const { labCommand } = await import("../lab/cli.ts");
      return labCommand(rest);
    }
    case "run": {
      const { runCommand } = await import("./run.ts");
      return runCommand(rest);
    }
    case "plan": {
      const { planCommand } = await import("./plan.ts");
      return planCommand(rest);
    }
    case "doctor": {
      const { doctorCommand } = await import("./doctor.ts");
      return doctorCommand(rest);
    }
    case "discover": {
      const { discoverCommand } = await import("./discover.ts");
      return discoverCommand(rest);
    }
    case "cleanup": {
      const { cleanupCommand } = await import("./cleanup.ts");
      return cleanupCommand(rest);
    }
    case "diff": {
      const { diffCommand } = await import("./diff.ts");
      return diffCommand(rest);
    }
    case "canary": {
      const { canaryCommand } = await import("./canary.ts");
      return canaryCommand(rest);
    }
    case "merge": {
      const { mergeCommand } = await import("./merge.ts");
      return mergeCommand(rest);
    }
    case "metrics": {
      const { metricsCommand } = await import("./metrics.ts");
      return metricsCommand(rest);
    }
    case "render": {
      const { renderCommand } = await import("./render.ts");
      return renderCommand(rest);
    }
    default:
      process.stderr.write(`dcn-verify: unknown command '${cmd}'\n${usage()}\n`);
      return 2;
  }
}
