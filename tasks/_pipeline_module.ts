/**
 * Loading a pipeline from a module path given on the command line.
 *
 * @module
 */
import { pathToFileURL } from "node:url";
import type { Policy } from "../lib/engine/policy.ts";

/**
 * Imports `path` (relative to the working directory) and returns its
 * `defaultPipeline` export, or its `pipeline` export. Throws a `TypeError`
 * saying what the module lacks.
 *
 * @example
 * ```ts
 * import { importPipeline } from "./_pipeline_module.ts";
 * const policies = await importPipeline("policies/mod.ts");
 * ```
 */
export async function importPipeline(path: string): Promise<readonly Policy[]> {
  const url = /^[a-z]+:/.test(path)
    ? path
    : pathToFileURL(path.startsWith("/") ? path : `${Deno.cwd()}/${path}`).href;
  const module = await import(url);
  const pipeline = module.defaultPipeline ?? module.pipeline;
  if (!Array.isArray(pipeline) || !pipeline.every((policy) => typeof policy === "function")) {
    throw new TypeError(`${path} exports no \`defaultPipeline\` or \`pipeline\` array of policies`);
  }
  return pipeline;
}
