import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";
import { formatZodIssues } from "../core/http.ts";
import type { RunSummary } from "./model.ts";

/** A run's folder that is not one: the message names the folder or the file, and each field that is wrong. */
export class RunRecordError extends Error {}

const testSchema = z.looseObject({
  id: z.string().min(1),
  status: z.enum(["passed", "failed", "skipped"]),
  durationMs: z.number().nonnegative(),
  tier: z.string().optional(),
  warnings: z.array(z.string()).optional(),
  notVerified: z.array(z.string()).optional(),
  aboveTier: z.boolean().optional(),
});

/** What the readers of a finished run (diff, merge, metrics, the fleet page's history) rely on in its summary.json. */
const summarySchema = z.looseObject({
  runId: z.string().min(1),
  suites: z.array(z.string()).optional(),
  finishedAt: z.string().refine((s) => !Number.isNaN(Date.parse(s)), "a date and time"),
  interrupted: z.boolean(),
  sites: z.array(
    z.looseObject({
      site: z.string().min(1),
      status: z.enum(["passed", "failed"]),
      tests: z.array(testSchema),
      errors: z.array(z.string()),
      cleanup: z.array(z.string()).optional(),
      verdict: z.looseObject({ ok: z.boolean(), reasons: z.array(z.string()) }).optional(),
    }),
  ),
  rbdLeftovers: z.array(z.looseObject({ site: z.string() })).optional(),
  // NOTE: summaries before the records held these as lines of text; they name no pool a reader can use, and are left out.
  rbdNotChecked: z
    .array(z.union([z.looseObject({ site: z.string(), pool: z.string().optional(), reason: z.string() }), z.string()]))
    .transform((a) => a.filter((n) => typeof n !== "string"))
    .optional(),
  leftBehind: z.array(z.string()).optional(),
});

/** A run directory's summary.json, checked; the error names the directory, or the file and each field. */
export function readRunSummary(runDir: string): RunSummary {
  const dir = resolve(runDir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new RunRecordError(`${dir} is not a directory (a run's directory)`);
  const file = join(dir, "summary.json");
  if (!existsSync(file)) throw new RunRecordError(`${dir} holds no summary.json: not a finished run's directory`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new RunRecordError(`${file}: ${(e as Error).message}`, { cause: e });
  }
  const r = summarySchema.safeParse(raw);
  if (!r.success) throw new RunRecordError(`${file} is not a dcn-verify run summary:\n  ${formatZodIssues(r.error).join("\n  ")}`);
  return raw as RunSummary;
}

/** A run by its folder's path or its id under reportsRoot: the folder and its summary. */
export function findRun(ref: string, reportsRoot: string): { dir: string; summary: RunSummary } {
  const candidates = [resolve(ref), join(resolve(reportsRoot), ref)];
  const dir = candidates.find((d) => existsSync(join(d, "summary.json")));
  if (!dir) throw new RunRecordError(`run '${ref}' does not exist: no summary.json in ${candidates.join(" or ")}`);
  return { dir, summary: readRunSummary(dir) };
}

export function loadRun(ref: string, reportsRoot: string): RunSummary {
  return findRun(ref, reportsRoot).summary;
}
