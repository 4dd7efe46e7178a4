import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, test } from "vitest";
import { PACKAGE_ROOT } from "../helpers/core/package-root.ts";
import { COMMANDS as MAIN_COMMANDS } from "./main.ts";

// The command as an operator runs it: node bin/dcn-verify.mjs, which bundles the CLI into the cache it is given (an
// empty one here, so the bundle is made from these sources) or, where it cannot, runs it through tsx.
const cache = mkdtempSync(join(tmpdir(), "dcn-verify-main-test-"));
afterAll(() => rmSync(cache, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string> = {}) {
  return execa("node", [join(PACKAGE_ROOT, "bin", "dcn-verify.mjs"), ...args], {
    cwd: PACKAGE_ROOT,
    env: { XDG_CACHE_HOME: cache, ...env },
    reject: false,
  });
}

let helpRun: ReturnType<typeof cli> | undefined;

const VERSION = (JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string }).version;
const COMMANDS = ["lab", "run", "plan", "doctor", "discover", "cleanup", "diff", "merge", "canary", "metrics", "render"];

/** The command lines of the help: `  <name>  <summary>` between "commands:" and the next blank line. */
function commandLines(help: string): { name: string; summary: string }[] {
  const lines = help.split("\n");
  const start = lines.indexOf("commands:");
  expect(start).toBeGreaterThanOrEqual(0);
  const end = lines.indexOf("", start);
  return lines.slice(start + 1, end < 0 ? undefined : end).map((l) => {
    const m = /^ {2}(\S+) {2,}(\S.*)$/.exec(l);
    expect(m, `a command line of the help: '${l}'`).not.toBeNull();
    return { name: m![1]!, summary: m![2]! };
  });
}

describe("dcn-verify, the command", () => {
  test.each([["--version"], ["-V"]])("%s prints the package's version on stdout and exits 0", async (flag) => {
    const r = await cli([flag]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(VERSION);
    expect(r.stderr).toBe("");
  });

  test("--version through tsx (no bundle) too", async () => {
    const r = await cli(["--version"], { DCN_VERIFY_NO_BUNDLE: "1" });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(VERSION);
  });

  test("--help lists every command once, each with a one-line summary, on stdout, and exits 0", async () => {
    const r = await (helpRun ??= cli(["--help"]));
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^usage: dcn-verify <command>/);
    const listed = commandLines(r.stdout);
    expect(listed.map((c) => c.name).sort()).toEqual([...COMMANDS].sort());
    for (const c of listed) expect(c.summary.length, c.name).toBeGreaterThan(10);
    for (const name of COMMANDS)
      expect(
        r.stdout.split("\n").filter((l) => l.startsWith(`  ${name} `)),
        name,
      ).toHaveLength(1);
    expect(r.stdout).toMatch(/--version/);
  });

  test.each([[[]], [["help"]], [["-h"]]])("%j prints the same help on stdout and exits 0", async (args) => {
    const [help, r] = await Promise.all([(helpRun ??= cli(["--help"])), cli(args)]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(help.stdout);
  });

  test.each([[["no-such-command"]], [["--no-such-option"]], [["help", "no-such-command"]]])(
    "%j: the usage on stderr, nothing on stdout, exit 2",
    async (args) => {
      const r = await cli(args);
      expect(r.exitCode).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/unknown command '(no-such-command|--no-such-option)'/);
      expect(
        commandLines(r.stderr)
          .map((c) => c.name)
          .sort(),
      ).toEqual([...COMMANDS].sort());
    },
  );

  test("every command in the help is dispatched by main.ts to its module", () => {
    // NOTE: checked in the source rather than by running each '<command> --help': through tsx (no bundle) that takes
    // up to 3 s a command. Each command's own --help is its module's business (parseCommand).
    const source = readFileSync(join(PACKAGE_ROOT, "cli", "main.ts"), "utf8");
    for (const name of COMMANDS) {
      const branch = source.split(/\bcase "/).find((b) => b.startsWith(`${name}": {`));
      expect(branch, name).toMatch(
        new RegExp(`const \\{ ${name}Command \\} = await import\\("[^"]+"\\);\\s+return ${name}Command\\(rest\\);`),
      );
    }
    expect(MAIN_COMMANDS.map((c) => c.name).sort()).toEqual([...COMMANDS].sort());
  });

  test("help <command> is <command> --help", async () => {
    const [a, b] = await Promise.all([cli(["help", "diff"]), cli(["diff", "--help"])]);
    expect(a.exitCode).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout).toMatch(/^usage: dcn-verify diff/);
  });
});
