import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { dependencyBin } from "../core/package-root.ts";
import { redactText } from "../core/redact.ts";
import { FAILURE_KINDS, type FailureKind } from "./failure-kind.ts";

interface AllureStep {
  attachments?: { source: string }[];
  steps?: AllureStep[];
}

interface AllureResult extends AllureStep {
  uuid: string;
  labels?: { name: string; value: string }[];
}

function attachmentsOf(s: AllureStep, out: string[] = []): string[] {
  for (const a of s.attachments ?? []) out.push(a.source);
  for (const c of s.steps ?? []) attachmentsOf(c, out);
  return out;
}

/**
 * allure-vitest writes one results directory for the run; each site gets its own, with the results labelled with its
 * name and their attachments, as the site ends: each call reads only the result files it has not read before, so a
 * run of many sites reads each file once.
 */
export class AllureResultsBySite {
  private readonly siteOf = new Map<string, { site?: string; attachments: string[] }>();

  constructor(
    private readonly resultsDir: string,
    private readonly runDir: string,
  ) {}

  /** Copies the site's results and their attachments into <runDir>/<site>/allure-results, and returns that folder. */
  take(site: string): string {
    const target = join(this.runDir, site, "allure-results");
    mkdirSync(target, { recursive: true });
    if (!existsSync(this.resultsDir)) return target;
    for (const f of readdirSync(this.resultsDir)) {
      if (!f.endsWith("-result.json") || this.siteOf.has(f)) continue;
      const r = JSON.parse(readFileSync(join(this.resultsDir, f), "utf8")) as AllureResult;
      const label = r.labels?.find((l) => l.name === "site")?.value ?? r.labels?.find((l) => l.name === "parentSuite")?.value;
      this.siteOf.set(f, { ...(label ? { site: label } : {}), attachments: attachmentsOf(r) });
    }
    for (const [f, r] of this.siteOf) {
      if (r.site !== site) continue;
      copyFileSync(join(this.resultsDir, f), join(target, f));
      for (const a of r.attachments) if (existsSync(join(this.resultsDir, a))) copyFileSync(join(this.resultsDir, a), join(target, a));
    }
    return target;
  }
}

export function writeEnvironment(resultsDir: string, env: Record<string, string>): void {
  const lines = Object.entries(env).map(([k, v]) => `${k.replace(/[=:\s]/g, "_")}=${redactText(v).replace(/\n/g, " ")}`);
  writeFileSync(join(resultsDir, "environment.properties"), `${lines.join("\n")}\n`);
}

/** The report's categories: why tests failed, from the label procedureTest sets on a failure. */
export function allureCategories() {
  return {
    rules: [
      { id: "known", name: "Known issues", matchers: { labels: { knownIssue: "yes" } } },
      ...(Object.entries(FAILURE_KINDS) as [FailureKind, string][]).map(([kind, name]) => ({
        id: kind,
        name,
        matchers: { labels: { failure: kind } },
      })),
    ],
  };
}

/**
 * Allure 3 builds the site's HTML report offline. Its history file lives beside the runs in the
 * reports folder, so each report shows the trend of the runs before it.
 */
export async function generateReport(resultsDir: string, outDir: string, name: string, o: { historyFile?: string } = {}): Promise<void> {
  const cli = dependencyBin("allure");
  const rc = join(outDir, "..", "allurerc.json");
  if (o.historyFile) mkdirSync(dirname(o.historyFile), { recursive: true });
  writeFileSync(
    rc,
    JSON.stringify(
      { name, output: outDir, ...(o.historyFile ? { historyPath: o.historyFile } : {}), categories: allureCategories() },
      null,
      2,
    ),
  );
  const r = await execa(process.execPath, [cli, "generate", resultsDir, "-c", rc, "-o", outDir, "--name", name], {
    reject: false,
    timeout: 120000,
    cwd: join(outDir, ".."),
  });
  if (r.exitCode !== 0)
    throw new Error(`allure generate for ${name} failed: ${redactText((r.stderr || r.stdout).trim().split("\n").slice(-5).join("\n"))}`);
}
