import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { PACKAGE_ROOT } from "../../helpers/core/package-root.ts";

// The CI templates under examples/ci/ shard a fleet run (dcn-verify run --shard I/N --group ID, I from 1, as
// helpers/ops/selection.ts parses it) and merge the shards (dcn-verify merge). Each template is read the way its
// CI system would expand it (a matrix, parallel:matrix, one Zuul job per shard) and the commands its jobs run are
// parsed from their script lines; what the shards run must cover 1..N exactly once, with one N and one group.

const CI_DIR = join(PACKAGE_ROOT, "examples", "ci");
/** A run id as newRunId makes them: the folder a run writes under --reports. */
const RUN = "20261202t101010-ab12";

type Y = any;

/** One job as its CI system runs it (a matrix job once per combination), reduced to what the checks look at. */
interface CiJob {
  /** The name the merge job's needs or dependencies give it (a matrix's combinations share it). */
  name: string;
  /** Its dcn-verify command lines, variables of the job (matrix, vars) substituted. */
  commands: string[];
  /** Globs of what the CI system reads as JUnit. */
  junit: string[];
  /** Globs of what it keeps after the job (artifacts, logs). */
  keeps: string[];
  /** Whether JUnit and the kept files are published when the run failed too. */
  publishedOnFailure: boolean;
  /** The jobs it waits for. */
  needs: string[];
  /** Whether it runs when a job it waits for saw a site fail. */
  runsAfterFailure: boolean;
}

// ---------------------------------------------------------------------------------------------- command lines

/** The lines of a script, a backslash at the end of a line joining it to the next. */
function scriptLines(script: string): string[] {
  return script.replace(/\\\r?\n/g, " ").split(/\r?\n/);
}

/** The words of a shell line: quotes removed, no expansion (the variables were substituted before). */
function words(line: string): string[] {
  const out: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (const c of line) {
    if (quote) {
      if (c === quote) quote = undefined;
      else word = (word ?? "") + c;
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= "";
    } else if (/\s/.test(c)) {
      if (word !== undefined) out.push(word);
      word = undefined;
    } else word = (word ?? "") + c;
  }
  if (word !== undefined) out.push(word);
  return out;
}

/** The dcn-verify lines of a script: those that call `dcn-verify run` or `dcn-verify merge`. */
function dcnVerifyLines(script: unknown): string[] {
  if (typeof script !== "string") return [];
  return scriptLines(script).filter((l) => /(^|[\s;&|(])(npx\s+)?dcn-verify\s+(run|merge)(\s|$)/.test(l));
}

function subcommand(line: string): "run" | "merge" | undefined {
  const w = words(line);
  const i = w.indexOf("dcn-verify");
  const sub = i >= 0 ? w[i + 1] : undefined;
  return sub === "run" || sub === "merge" ? sub : undefined;
}

/** The values an option is given on a line (--shard 1/3 or --shard=1/3). */
function optionValues(line: string, option: string): string[] {
  const w = words(line);
  const out: string[] = [];
  w.forEach((x, i) => {
    if (x === option && i + 1 < w.length) out.push(w[i + 1]!);
    else if (x.startsWith(`${option}=`)) out.push(x.slice(option.length + 1));
  });
  return out;
}

// ---------------------------------------------------------------------------------------------- globs

function globSource(glob: string): string {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*" && glob[i + 1] === "*") {
      out += ".*";
      i++;
    } else if (c === "*") out += "[^/]*";
    else if (c === "?") out += "[^/]";
    else out += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return out;
}

const normal = (p: string) => p.replace(/^\.\//, "").replace(/\/+$/, "");

/** Whether a glob names the file. */
function names(glob: string, file: string): boolean {
  return new RegExp(`^${globSource(normal(glob))}$`).test(normal(file));
}

/** Whether a glob names the file, or a folder holding it. */
function covers(glob: string, file: string): boolean {
  return names(glob, file) || new RegExp(`^${globSource(normal(glob))}/`).test(normal(file));
}

// ---------------------------------------------------------------------------------------------- the checks

/** What is wrong with a template's jobs: [] when its shards cover 1..N once each and the merge waits for them all. */
function problems(jobs: CiJob[]): string[] {
  const out: string[] = [];
  const shards: { job: CiJob; line: string }[] = [];
  const merges: { job: CiJob; line: string }[] = [];
  for (const job of jobs)
    for (const line of job.commands) {
      const sub = subcommand(line);
      if (sub === "run") shards.push({ job, line });
      if (sub === "merge") merges.push({ job, line });
    }
  if (!shards.length) return ["no job runs dcn-verify run"];

  const seen = new Map<number, number>();
  const counts = new Set<number>();
  const groups = new Set<string>();
  for (const { job, line } of shards) {
    const shard = optionValues(line, "--shard");
    const group = optionValues(line, "--group");
    const reports = optionValues(line, "--reports");
    const m = shard.length === 1 ? /^(\d+)\/(\d+)$/.exec(shard[0]!) : null;
    if (!m) {
      out.push(`${job.name}: --shard ${shard.length ? shard.map((s) => `'${s}'`).join(", ") : "missing"}: expected one I/N`);
      continue;
    }
    const [i, n] = [Number(m[1]), Number(m[2])];
    if (i < 1 || i > n) out.push(`${job.name}: --shard ${i}/${n} is outside 1..${n} (shards count from 1)`);
    counts.add(n);
    seen.set(i, (seen.get(i) ?? 0) + 1);
    if (group.length !== 1 || !group[0]) out.push(`${job.name}: --shard ${i}/${n} without one --group`);
    else groups.add(group[0]);
    if (reports.length !== 1) {
      out.push(`${job.name}: --shard ${i}/${n} without --reports: where its junit.xml lands is not known`);
      continue;
    }
    const junit = `${reports[0]}/${RUN}/junit.xml`;
    const fleet = `${reports[0]}/${RUN}/index.html`;
    if (!job.junit.some((g) => names(g, junit))) out.push(`${job.name}: shard ${i}/${n} does not publish ${junit} as JUnit`);
    if (!job.keeps.some((g) => covers(g, fleet))) out.push(`${job.name}: shard ${i}/${n} does not keep its run directory`);
    if (!job.publishedOnFailure) out.push(`${job.name}: shard ${i}/${n} publishes nothing when its run fails`);
  }
  if (counts.size > 1) out.push(`the shards differ in N: ${[...counts].join(", ")}`);
  if (groups.size > 1) out.push(`the shards differ in --group: ${[...groups].join(", ")}`);
  if (counts.size === 1) {
    const n = [...counts][0]!;
    for (let i = 1; i <= n; i++) {
      const times = seen.get(i) ?? 0;
      if (times === 0) out.push(`shard ${i}/${n}: no job runs it`);
      if (times > 1) out.push(`shard ${i}/${n} is run by ${times} jobs`);
    }
  }

  const mergeJobs = [...new Set(merges.map((m) => m.job.name))];
  if (mergeJobs.length !== 1) return [...out, `${mergeJobs.length} jobs run dcn-verify merge; expected one`];
  const shardJobs = [...new Set(shards.map((s) => s.job.name))];
  for (const { job, line } of merges) {
    const missing = shardJobs.filter((s) => !job.needs.includes(s));
    if (missing.length) out.push(`${job.name} does not wait for ${missing.join(", ")}`);
    if (!job.runsAfterFailure) out.push(`${job.name} does not run after a shard saw a site fail`);
    const reports = optionValues(line, "--reports");
    if (reports.length !== 1) {
      out.push(`${job.name}: dcn-verify merge without --reports`);
      continue;
    }
    const junit = `${reports[0]}/${RUN}/junit.xml`;
    const fleet = `${reports[0]}/${RUN}/index.html`;
    if (!job.junit.some((g) => names(g, junit))) out.push(`${job.name} does not publish ${junit} as JUnit`);
    if (!job.keeps.some((g) => covers(g, fleet))) out.push(`${job.name} does not keep the fleet page ${fleet}`);
    if (!job.publishedOnFailure) out.push(`${job.name} publishes nothing when the merged run fails`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- GitHub Actions

const list = (v: unknown): any[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

function cartesian(axes: [string, unknown[]][]): Record<string, unknown>[] {
  return axes.reduce<Record<string, unknown>[]>((acc, [k, values]) => acc.flatMap((c) => values.map((v) => ({ ...c, [k]: v }))), [{}]);
}

/** A strategy.matrix's combinations: the product of its axes, less exclude, with include (GitHub's rules, simplified). */
function githubMatrix(matrix: Y): Record<string, unknown>[] {
  if (!matrix) return [{}];
  const axes = Object.entries(matrix).filter(([k]) => k !== "include" && k !== "exclude") as [string, unknown[]][];
  const keys = axes.map(([k]) => k);
  const same = (a: Record<string, unknown>, b: Record<string, unknown>) =>
    Object.keys(b).every((k) => !keys.includes(k) || String(a[k]) === String(b[k]));
  let combos = axes.length ? cartesian(axes.map(([k, v]) => [k, list(v)])) : [];
  combos = combos.filter((c) => !list(matrix.exclude).some((e: Record<string, unknown>) => same(c, e)));
  for (const inc of list(matrix.include) as Record<string, unknown>[]) {
    const matching = combos.filter((c) => same(c, inc));
    if (matching.length && !keys.every((k) => k in inc)) for (const c of matching) Object.assign(c, inc);
    else if (!combos.some((c) => keys.every((k) => String(c[k]) === String(inc[k])))) combos.push({ ...inc });
  }
  return combos.length ? combos : [{}];
}

const runsOnFailure = (cond: unknown) =>
  typeof cond === "string" && /always\(\)|!\s*cancelled\(\)|success\(\)\s*\|\|\s*failure\(\)/.test(cond);

function githubJobs(doc: Y): CiJob[] {
  const out: CiJob[] = [];
  for (const [id, job] of Object.entries<Y>(doc.jobs ?? {})) {
    const combos = githubMatrix(job.strategy?.matrix);
    combos.forEach((combo, index) => {
      const sub = (s: string) =>
        s.replace(/\$\{\{\s*([\w.-]+)\s*\}\}/g, (whole, expr: string) => {
          if (expr.startsWith("matrix.") && expr.slice(7) in combo) return String(combo[expr.slice(7)]);
          if (expr === "strategy.job-total") return String(combos.length);
          if (expr === "strategy.job-index") return String(index);
          return whole;
        });
      const steps: Y[] = job.steps ?? [];
      const publishing = steps.filter((s) => typeof s.uses === "string");
      const junitSteps = publishing.filter((s) => /^(mikepenz\/action-junit-report|dorny\/test-reporter)@/.test(s.uses));
      const uploads = publishing.filter((s) => /^actions\/upload-artifact@/.test(s.uses));
      const paths = (v: unknown) =>
        String(v ?? "")
          .split(/[\n,]/)
          .map((p) => sub(p.trim()))
          .filter(Boolean);
      out.push({
        name: id,
        commands: steps.flatMap((s) => dcnVerifyLines(s.run)).map(sub),
        junit: junitSteps.flatMap((s) => paths(s.with?.report_paths ?? s.with?.path)),
        keeps: uploads.flatMap((s) => paths(s.with?.path)),
        publishedOnFailure: [...junitSteps, ...uploads].length > 0 && [...junitSteps, ...uploads].every((s) => runsOnFailure(s.if)),
        needs: list(job.needs).map(String),
        runsAfterFailure: runsOnFailure(job.if),
      });
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- GitLab CI

const GITLAB_RESERVED = new Set([
  "stages",
  "variables",
  "workflow",
  "include",
  "default",
  "image",
  "services",
  "before_script",
  "after_script",
  "cache",
  "spec",
]);

function deepMerge(base: Y, over: Y): Y {
  if (!base || typeof base !== "object" || Array.isArray(base) || !over || typeof over !== "object" || Array.isArray(over)) return over;
  const out: Y = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? deepMerge(base[k], v) : v;
  return out;
}

function gitlabResolve(doc: Y, name: string, depth = 0): Y {
  const job = doc[name];
  if (depth > 10 || !job) return job ?? {};
  return list(job.extends).reduceRight((acc: Y, parent: string) => deepMerge(gitlabResolve(doc, parent, depth + 1), acc), job);
}

/** parallel: its combinations of variables (parallel: N as CI_NODE_INDEX/CI_NODE_TOTAL). */
function gitlabParallel(parallel: Y): Record<string, unknown>[] {
  if (typeof parallel === "number") return Array.from({ length: parallel }, (_, i) => ({ CI_NODE_INDEX: i + 1, CI_NODE_TOTAL: parallel }));
  if (!parallel?.matrix) return [{}];
  return list(parallel.matrix).flatMap((entry: Record<string, unknown>) => cartesian(Object.entries(entry).map(([k, v]) => [k, list(v)])));
}

const scalarVariables = (vars: Y): Record<string, unknown> =>
  Object.fromEntries(Object.entries<Y>(vars ?? {}).map(([k, v]) => [k, v && typeof v === "object" ? v.value : v]));

function gitlabJobs(doc: Y): CiJob[] {
  const out: CiJob[] = [];
  const globals = scalarVariables(doc.variables);
  for (const name of Object.keys(doc)) {
    if (GITLAB_RESERVED.has(name) || name.startsWith(".") || typeof doc[name] !== "object") continue;
    const job = gitlabResolve(doc, name);
    if (!job.script) continue;
    for (const combo of gitlabParallel(job.parallel)) {
      const vars = { ...globals, ...scalarVariables(job.variables), ...combo };
      const sub = (s: string) =>
        s.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, a?: string, b?: string) => {
          const k = (a ?? b)!;
          return k in vars ? String(vars[k]) : whole;
        });
      const script = [...list(job.before_script), ...list(job.script)].flat(Infinity).map(String);
      const rules: Y[] = list(job.rules).filter((r: Y) => r.when !== "never");
      out.push({
        name,
        commands: script.flatMap(dcnVerifyLines).map(sub),
        junit: list(job.artifacts?.reports?.junit).map((p: string) => sub(String(p))),
        keeps: list(job.artifacts?.paths).map((p: string) => sub(String(p))),
        publishedOnFailure: job.artifacts?.when === "always",
        needs: list(job.needs).map((n: Y) => String(typeof n === "object" ? n.job : n)),
        runsAfterFailure: job.when === "always" || (rules.length > 0 && rules.every((r: Y) => r.when === "always")),
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- Zuul

const ZUUL_TAGS = [{ tag: "!encrypted/pkcs1-oaep", collection: "seq" as const, resolve: (seq: any) => seq }];
const ZUUL_PROJECT_KEYS = new Set(["name", "description", "templates", "vars", "queue", "default-branch", "merge-mode"]);

/** A Jinja template with the plain variables it names (`{{ a.b }}`, `{{ a | quote }}`) filled in; others left as they are. */
function jinja(text: string, vars: Record<string, unknown>, depth = 0): string {
  const out = text.replace(/\{\{\s*([\w.]+)\s*(\|\s*quote\s*)?\}\}/g, (whole, path: string) => {
    let v: unknown = vars;
    for (const k of path.split(".")) v = v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined;
    return v === undefined || typeof v === "object" ? whole : String(v);
  });
  return out !== text && depth < 5 ? jinja(out, vars, depth + 1) : out;
}

const COMMAND_MODULES = ["ansible.builtin.command", "ansible.builtin.shell", "command", "shell"];

/** The tasks of a playbook's plays, blocks flattened. */
function tasksOf(playbook: Y): Y[] {
  const flat = (tasks: Y[]): Y[] => tasks.flatMap((t) => [t, ...flat([...list(t.block), ...list(t.rescue), ...list(t.always)])]);
  return list(playbook).flatMap((play: Y) => flat([...list(play.pre_tasks), ...list(play.tasks), ...list(play.post_tasks)]));
}

function taskCommand(task: Y): string | undefined {
  for (const m of COMMAND_MODULES) {
    const v = task[m];
    if (typeof v === "string") return v;
    if (v && typeof v === "object") return typeof v.cmd === "string" ? v.cmd : Array.isArray(v.argv) ? v.argv.join(" ") : undefined;
  }
  return undefined;
}

interface ZuulJob {
  name: string;
  run: string[];
  "pre-run": string[];
  "post-run": string[];
  vars: Record<string, unknown>;
  dependencies: string[];
}

function zuulJobs(doc: Y[], readPlaybook: (path: string) => Y): CiJob[] {
  const defs = new Map<string, Y>(doc.filter((x) => x.job).map((x) => [x.job.name, x.job]));
  const resolveJob = (name: string, depth = 0): ZuulJob => {
    const def = defs.get(name) ?? {};
    const parent: ZuulJob =
      def.parent && defs.has(def.parent) && depth < 10
        ? resolveJob(def.parent, depth + 1)
        : { name, run: [], "pre-run": [], "post-run": [], vars: {}, dependencies: [] };
    return {
      name,
      run: def.run ? list(def.run) : parent.run,
      "pre-run": [...parent["pre-run"], ...list(def["pre-run"])],
      "post-run": [...list(def["post-run"]), ...parent["post-run"]],
      vars: deepMerge(parent.vars, def.vars ?? {}),
      dependencies: def.dependencies
        ? list(def.dependencies).map((d: Y) => String(typeof d === "object" ? d.name : d))
        : parent.dependencies,
    };
  };
  const out: CiJob[] = [];
  for (const { project } of doc.filter((x) => x.project)) {
    for (const [pipeline, body] of Object.entries<Y>(project)) {
      if (ZUUL_PROJECT_KEYS.has(pipeline)) continue;
      for (const entry of list(body?.jobs)) {
        const [name, over] = typeof entry === "string" ? [entry, {}] : (Object.entries<Y>(entry)[0] ?? ["", {}]);
        const job = resolveJob(name);
        const vars = { ...deepMerge(job.vars, over?.vars ?? {}), zuul: { buildset: "{{ zuul.buildset }}" } };
        const dependencies = over?.dependencies
          ? list(over.dependencies).map((d: Y) => String(typeof d === "object" ? d.name : d))
          : job.dependencies;
        const runTasks = job.run.flatMap((p) => tasksOf(readPlaybook(p)));
        const commandTasks = runTasks.filter((t) => dcnVerifyLines(taskCommand(t)).length);
        const commands = commandTasks.flatMap((t) => dcnVerifyLines(jinja(taskCommand(t)!, vars)));
        // The post-run playbooks: a task that copies the reports folder into ~/zuul-output/logs, and a zuul_return of
        // a junit.xml artifact from there.
        const postTasks = job["post-run"].flatMap((p) => {
          const playVars = Object.assign({}, ...list(readPlaybook(p)).map((play: Y) => play.vars ?? {}));
          return tasksOf(readPlaybook(p)).map((t) => ({ t, vars: { ...playVars, ...vars } }));
        });
        const reports = commands.flatMap((l) => optionValues(l, "--reports"));
        const copied = reports.filter((r) =>
          postTasks.some(({ t, vars: v }) => {
            const cmd = taskCommand(t);
            if (!cmd) return false;
            const text = jinja(cmd, v);
            return text.includes("zuul-output/logs") && words(text).some((w) => normal(w) === normal(r));
          }),
        );
        const junitReturned = postTasks.some(({ t }) =>
          list(t.zuul_return?.data?.zuul?.artifacts).some((a: Y) => /junit\.xml$/.test(String(a.url))),
        );
        out.push({
          name,
          commands,
          junit: junitReturned ? copied.map((r) => `${r}/*/junit.xml`) : [],
          keeps: copied,
          publishedOnFailure: true, // post-run playbooks run whatever the run playbook's result
          needs: dependencies,
          // A dependent job runs only after its dependencies succeeded: the shards' must succeed on a failed site
          // (exit 1), which the merge then reports.
          runsAfterFailure: dependencies.every((d) => {
            const dep = resolveJob(d);
            const tasks = dep.run.flatMap((p) => tasksOf(readPlaybook(p))).filter((t) => dcnVerifyLines(taskCommand(t)).length);
            return tasks.length > 0 && tasks.every((t) => /rc not in \[\s*0\s*,\s*1\s*\]/.test(String(t.failed_when ?? "")));
          }),
        });
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- the templates

const read = (file: string) => readFileSync(join(CI_DIR, file), "utf8");
const github = () => parse(read("github-actions.yml"));
const gitlab = () => parse(read("gitlab-ci.yml"));
const zuul = () => parse(read("zuul.yaml"), { customTags: ZUUL_TAGS }) as Y[];
const playbook = (path: string) => parse(read(path));
const zuulJob = (doc: Y[], name: string) => doc.find((x) => x.job?.name === name).job;
const zuulPipeline = (doc: Y[]) => doc.find((x) => x.project).project.periodic.jobs as Y[];

describe("CI templates (examples/ci)", () => {
  test("GitHub Actions: the matrix's shards cover 1..N once, one group; the merge needs them all; JUnit published", () => {
    const jobs = githubJobs(github());
    expect(problems(jobs)).toEqual([]);
    expect(jobs.filter((j) => j.commands.some((c) => subcommand(c) === "run")).length).toBe(3);
  });

  test("GitHub Actions: a matrix that repeats or leaves out a shard fails the check", () => {
    const dup = github();
    dup.jobs.shard.strategy.matrix.shard = [1, 2, 2];
    expect(problems(githubJobs(dup))).toEqual(expect.arrayContaining(["shard 2/3 is run by 2 jobs", "shard 3/3: no job runs it"]));
    const short = github();
    short.jobs.shard.strategy.matrix.shard = [1, 2];
    expect(problems(githubJobs(short))).toEqual(["shard 3/3: no job runs it"]);
    const zeroBased = github();
    zeroBased.jobs.shard.strategy.matrix.shard = [0, 1, 2];
    expect(problems(githubJobs(zeroBased))).toEqual(
      expect.arrayContaining(["shard: --shard 0/3 is outside 1..3 (shards count from 1)", "shard 3/3: no job runs it"]),
    );
    const eager = github();
    delete eager.jobs.merge.if;
    expect(problems(githubJobs(eager))).toEqual(["merge does not run after a shard saw a site fail"]);
  });

  test("GitLab CI: parallel:matrix covers 1..N once, one group; the merge needs the matrix; JUnit reports", () => {
    const jobs = gitlabJobs(gitlab());
    expect(problems(jobs)).toEqual([]);
    expect(jobs.filter((j) => j.name === "dcn-verify-shard").map((j) => j.commands.flatMap((c) => optionValues(c, "--shard")))).toEqual([
      ["1/3"],
      ["2/3"],
      ["3/3"],
    ]);
  });

  test("GitLab CI: a matrix that repeats or leaves out a shard, or splits the group, fails the check", () => {
    const dup = gitlab();
    dup["dcn-verify-shard"].parallel.matrix = [{ SHARD: ["1", "2", "3"] }, { SHARD: "3" }];
    expect(problems(gitlabJobs(dup))).toEqual(["shard 3/3 is run by 2 jobs"]);
    const short = gitlab();
    short["dcn-verify-shard"].parallel.matrix = [{ SHARD: ["1", "3"] }];
    expect(problems(gitlabJobs(short))).toEqual(["shard 2/3: no job runs it"]);
    const split = gitlab();
    split["dcn-verify-shard"].parallel.matrix = [
      { SHARD: "1", GROUP: "a" },
      { SHARD: ["2", "3"], GROUP: "b" },
    ];
    split["dcn-verify-shard"].script = split["dcn-verify-shard"].script.map((l: string) => l.replace('"$CI_PIPELINE_ID"', '"$GROUP"'));
    expect(problems(gitlabJobs(split))).toEqual(["the shards differ in --group: a, b"]);
    const noJunit = gitlab();
    delete noJunit["dcn-verify-shard"].artifacts.reports;
    expect(problems(gitlabJobs(noJunit))).toEqual(
      [1, 2, 3].map((i) => `dcn-verify-shard: shard ${i}/3 does not publish reports/shard-${i}/${RUN}/junit.xml as JUnit`),
    );
  });

  test("Zuul: one job per shard covers 1..N once, one group; the merge depends on them all; logs and JUnit kept", () => {
    const jobs = zuulJobs(zuul(), playbook);
    expect(problems(jobs)).toEqual([]);
    expect(jobs.map((j) => j.commands.flatMap((c) => optionValues(c, "--shard"))).flat()).toEqual(["1/3", "2/3", "3/3"]);
  });

  test("Zuul: a job that repeats a shard, a shard with no job, or a merge that skips a shard fails the check", () => {
    const dup = zuul();
    zuulJob(dup, "dcn-verify-shard-3").vars.dcn_verify_shard = 2;
    expect(problems(zuulJobs(dup, playbook))).toEqual(["shard 2/3 is run by 2 jobs", "shard 3/3: no job runs it"]);
    const more = zuul();
    zuulJob(more, "dcn-verify-shard").vars.dcn_verify_shard_count = 4;
    expect(problems(zuulJobs(more, playbook))).toEqual(["shard 4/4: no job runs it"]);
    const skipped = zuul();
    const merge = zuulPipeline(skipped).find((e) => typeof e === "object" && e["dcn-verify-merge"]);
    merge["dcn-verify-merge"].dependencies = ["dcn-verify-shard-1", "dcn-verify-shard-2"];
    expect(problems(zuulJobs(skipped, playbook))).toEqual(["dcn-verify-merge does not wait for dcn-verify-shard-3"]);
  });

  test("credentials come from the CI system's secrets, never from the templates", () => {
    const files = [
      "github-actions.yml",
      "gitlab-ci.yml",
      "zuul.yaml",
      ...["pre", "shard", "merge", "post"].map((p) => `playbooks/dcn-verify/${p}.yaml`),
    ];
    for (const file of files) expect(read(file)).not.toMatch(/^\s*(password|application_credential_secret|token)\s*:/m);
    expect(read("github-actions.yml")).toContain("${{ secrets.DCN_CLOUDS_YAML }}");
    expect(read("gitlab-ci.yml")).toContain('OS_CLIENT_CONFIG_FILE="$DCN_CLOUDS_YAML"');
    expect(zuulJob(zuul(), "dcn-verify-shard").secrets).toEqual([{ name: "dcn_verify_cloud", secret: "dcn_verify_cloud" }]);
    expect(read("playbooks/dcn-verify/shard.yaml")).toContain("{{ dcn_verify_cloud.clouds_yaml }}");
  });
});
