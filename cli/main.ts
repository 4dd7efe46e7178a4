export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case "lab": {
      const { labCommand } = await import("../lab/cli.ts");
      return labCommand(rest);
    }
    case "run": {
      const { runCommand } = await import("./run.ts");
      return runCommand(rest);
    }
    default:
      process.stderr.write(`usage: dcn-verify <lab|run> ...\n`);
      return cmd === undefined || cmd === "--help" ? 0 : 2;
  }
}
