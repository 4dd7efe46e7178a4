#!/usr/bin/env node
// Entry point: runs the TypeScript CLI through tsx's loader, with the package's own tsconfig (not the one in the cwd).
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

register({ tsconfig: join(dirname(fileURLToPath(import.meta.url)), "..", "tsconfig.json") });
const { main } = await import("../cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
