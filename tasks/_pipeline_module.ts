/**
 * Loading a pipeline from a module path given on the command line.
 *
 * @module
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Policy } from "../lib/engine/policy.ts";
import { errorLine } from "../lib/service/error_line.ts";

/** The pipeline `deno task start` enforces. */
export const DEFAULT_PIPELINE_MODULE = "policies/mod.ts";

/**
 * Imports `path` (relative to `dir`, default the working directory: the
 * repository root under `deno task`; pass `shellDir()` from `./_cli.ts` for a
 * path the user typed) and returns its
 * `defaultPipeline` export, or its `pipeline` export. Throws one line saying
 * what is wrong: the module is missing, fails to load (a syntax error, or a
 * policy refusing its configuration at start-up, such as a category typo),
 * or exports no pipeline.
 *
 * @example
 * ```ts
 * import { importPipeline } from "./_pipeline_module.ts";
 * import { equal, rejects } from "node:assert/strict";
 * equal((await importPipeline("tests/fixtures/pipelines/reference.ts")).length, 4);
 * await rejects(importPipeline("no/such/module.ts"), /Cannot load no\/such\/module.ts: /);
 * ```
 */
export async function importPipeline(
  path: string,
  dir: string = Deno.cwd(),
): Promise<readonly Policy[]> {
  const url = /^[a-z]+:/.test(path) ? path : pathToFileURL(resolve(dir, path)).href;
  let module: Record<string, unknown>;
  try {
    module = await import(url);
  } catch (error) {
    throw new Error(`Cannot load ${path}: ${errorLine(error)}`);
  }
  const pipeline = module.defaultPipeline ?? module.pipeline;
  if (!Array.isArray(pipeline) || !pipeline.every((policy) => typeof policy === "function")) {
    throw new Error(`${path} exports no \`defaultPipeline\` or \`pipeline\` array of policies`);
  }
  return pipeline;
}
