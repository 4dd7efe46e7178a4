import { existsSync } from "node:fs";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../helpers/core/package-root.ts";

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
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
    default:
      process.stderr.write(`usage: dcn-verify <lab|run|plan|doctor|discover|cleanup|diff|merge|canary> ... (--help on each)\n`);
      return cmd === undefined || cmd === "--help" ? 0 : 2;
  }
}
