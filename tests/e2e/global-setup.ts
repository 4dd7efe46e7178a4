import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** One vitest invocation of the lab tests: what its files may share (see typedRun). */
    e2eSession: string;
  }
}

export default function setup(project: TestProject): void {
  project.provide("e2eSession", `${process.pid}-${randomBytes(4).toString("hex")}`);
}
