import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type ChildProcess, fork } from "node:child_process";
import type { Socket } from "node:net";
import { PACKAGE_ROOT } from "../../core/package-root.ts";
import { redactText } from "../../core/redact.ts";
import { FAILURE_KINDS, type FailureKind } from "../../harness/failure-kind.ts";

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

/** What `generate` is given for one report. */
interface ReportJob {
  id: number;
  resultsDir: string;
  configFile: string;
  output: string;
  name: string;
}

/**
 * Allure 3 builds each site's HTML report offline, in one child process for the run (allure-generator.mjs), one
 * report after another. Its history file lives beside the runs in the reports folder, so each report shows the trend
 * of the runs before it.
 */
export class ReportGenerator {
  private child?: ChildProcess;
  private readonly pending = new Map<number, { job: ReportJob; arm: () => void; settle: (error?: string) => void }>();
  private lastId = 0;
  private output = "";

  /** script: the child's module (a test gives its own). */
  constructor(
    private readonly timeoutMs = 120000,
    private readonly script = join(PACKAGE_ROOT, "helpers", "ops", "reports", "allure-generator.mjs"),
  ) {}

  async generate(resultsDir: string, outDir: string, name: string, o: { historyFile?: string } = {}): Promise<void> {
    const configFile = join(outDir, "..", "allurerc.json");
    if (o.historyFile) mkdirSync(dirname(o.historyFile), { recursive: true });
    writeFileSync(
      configFile,
      JSON.stringify(
        {
          name,
          output: outDir,
          ...(o.historyFile ? { historyPath: o.historyFile } : {}),
          categories: allureCategories(),
          // NOTE: one index.html with its data inlined opens from a downloaded artifact (file://); Allure's folder of
          // data files needs an HTTP server. The folder is not much smaller: a site's was 3.0 MB against 3.7 MB, 2.6 MB
          // of it Allure's script either way.
          plugins: { awesome: { options: { singleFile: true } } },
        },
        null,
        2,
      ),
    );
    const job: ReportJob = { id: ++this.lastId, resultsDir, configFile, output: outDir, name };
    await new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      this.pending.set(job.id, {
        job,
        arm: () => {
          clearTimeout(timer);
          timer = setTimeout(
            () => this.stop(job.id, `it had not written the report ${name} after ${this.timeoutMs / 1000} s`),
            this.timeoutMs,
          );
        },
        settle: (error) => {
          clearTimeout(timer);
          this.pending.delete(job.id);
          if (error === undefined) resolve();
          else reject(new Error(`allure generate for ${name} failed: ${redactText(error)}`));
        },
      });
      this.send(job);
    });
  }

  /** Lets the child exit once its reports are written, and waits for it (at most the report timeout). */
  async close(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    if (child.connected) child.disconnect();
    const timer = setTimeout(() => child.kill("SIGKILL"), this.timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  /** Hands the job to the process, and gives it the whole timeout there. */
  private send(job: ReportJob): void {
    this.pending.get(job.id)?.arm();
    this.start().send(job, (e) => {
      if (e) this.pending.get(job.id)?.settle(e.message);
    });
  }

  private start(): ChildProcess {
    if (this.child) return this.child;
    const child = fork(this.script, [], { execArgv: [], stdio: ["ignore", "pipe", "pipe", "ipc"] });
    this.output = "";
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-4000);
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    // NOTE: the child never holds the run open: while a report is being built, its timeout keeps the run waiting.
    child.unref();
    child.channel?.unref();
    for (const s of [child.stdout, child.stderr]) (s as Socket | null)?.unref();
    child.on("message", (m: { id: number; ok: boolean; error?: string }) =>
      this.pending.get(m.id)?.settle(m.ok ? undefined : (m.error ?? "")),
    );
    child.on("exit", (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      const tail = this.output.trim().split("\n").slice(-5).join("\n");
      for (const p of [...this.pending.values()])
        p.settle(`the Allure process ended (${signal ?? `exit code ${code}`})${tail ? `: ${tail}` : ""}`);
    });
    child.on("error", (e) => {
      if (this.child !== child) return;
      for (const p of [...this.pending.values()]) p.settle(e.message);
    });
    this.child = child;
    return child;
  }

  /** Fails the report that hangs and stops its process; the reports queued behind it go to a new one. */
  private stop(id: number, why: string): void {
    const child = this.child;
    this.child = undefined;
    child?.kill("SIGKILL");
    this.pending.get(id)?.settle(`the Allure process was stopped: ${why}`);
    for (const p of [...this.pending.values()]) this.send(p.job);
  }
}
