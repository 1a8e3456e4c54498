/**
 * `deno task check:layers`: reads the module graph (`deno info --json`) of
 * every product module and fails on an import against the layer order or on
 * any import cycle, one line per problem naming both files.
 *
 * The order, lowest first: `lib/engine` → `lib/telemetry` → `lib/store` →
 * `lib/http` → `lib/ops` → `lib/dashboard` → `lib/service`; `policies/` and
 * `fixtures/` import only the engine; `tasks/` and `main.ts` sit on top (see
 * {@linkcode LAYERS}). Tests and benchmarks may import anything and are not
 * checked; nothing in the product may import them.
 *
 * @module
 */
import { relative } from "node:path";
import { fileURLToPath as fromFileUrl, pathToFileURL } from "node:url";

const LIB = [
  "lib/engine",
  "lib/telemetry",
  "lib/store",
  "lib/http",
  "lib/ops",
  "lib/dashboard",
  "lib/service",
] as const;

/**
 * Each product folder (and `main.ts`) with the folders it may import besides
 * its own. `lib/` is ordered bottom-up, each layer reading only the ones
 * below; policies and fixtures see only the engine's vocabulary; the tasks
 * and `main.ts` sit on top.
 */
export const LAYERS: Readonly<Record<string, readonly string[]>> = {
  ...Object.fromEntries(LIB.map((layer, i) => [layer, LIB.slice(0, i)])),
  "policies": ["lib/engine"],
  "fixtures": ["lib/engine"],
  "tasks": [...LIB, "policies", "fixtures"],
  "main.ts": ["lib/service", "policies"],
};

/** A module graph as file paths relative to the project root: each file and what it imports. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

/**
 * The layer of a project-relative path, a key of {@linkcode LAYERS}, or
 * `undefined` for files outside the product (tests, benchmarks).
 *
 * @example
 * ```ts
 * import { layerOf } from "./check_layers.ts";
 * import { equal } from "node:assert/strict";
 * equal(layerOf("lib/store/decision_store.ts"), "lib/store");
 * equal(layerOf("tests/main_test.ts"), undefined);
 * ```
 */
export function layerOf(path: string): string | undefined {
  return Object.keys(LAYERS).find((layer) => path === layer || path.startsWith(`${layer}/`));
}

/**
 * Every import against the layer order, and every cycle, as one-line messages.
 *
 * @example
 * ```ts
 * import { layerViolations } from "./check_layers.ts";
 * import { deepEqual } from "node:assert/strict";
 * const graph = new Map([
 *   ["lib/engine/decide.ts", ["lib/store/decision_store.ts"]],
 *   ["lib/store/decision_store.ts", ["lib/engine/decide.ts"]],
 * ]);
 * deepEqual(layerViolations(graph), [
 *   "lib/engine/decide.ts imports lib/store/decision_store.ts: lib/engine may not import lib/store",
 *   "import cycle: lib/engine/decide.ts → lib/store/decision_store.ts → lib/engine/decide.ts",
 * ]);
 * ```
 */
export function layerViolations(graph: ImportGraph): string[] {
  const problems: string[] = [];
  for (const [file, imports] of graph) {
    const from = layerOf(file);
    if (!from) continue;
    for (const target of imports) {
      const to = layerOf(target);
      if (!to) {
        problems.push(`${file} imports ${target}: the product may not import tests or benchmarks`);
      } else if (to !== from && !LAYERS[from].includes(to)) {
        problems.push(`${file} imports ${target}: ${from} may not import ${to}`);
      }
    }
  }
  for (const cycle of cyclesOf(graph)) problems.push(`import cycle: ${cycle.join(" → ")}`);
  return problems;
}

/** One cycle per strongly connected component with more than one file (or a self-import). */
function cyclesOf(graph: ImportGraph): string[][] {
  // Tarjan's algorithm, recursive: a graph of a few hundred files is far from the stack's depth.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (file: string): void => {
    index.set(file, next);
    low.set(file, next++);
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file)!, index.get(target)!));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1 || graph.get(file)?.includes(file)) {
      cycles.push(pathWithin(graph, new Set(component), file));
    }
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return cycles;
}

/** A concrete cycle through `start` inside one strongly connected component. */
function pathWithin(graph: ImportGraph, component: Set<string>, start: string): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const target of graph.get(file) ?? []) {
      if (!component.has(target)) continue;
      if (target === start) {
        const path = [start];
        for (let at = file; at !== start; at = previous.get(at)!) path.splice(1, 0, at);
        return [...path, start];
      }
      if (!previous.has(target)) {
        previous.set(target, file);
        queue.push(target);
      }
    }
  }
  return [start, start];
}

interface DenoInfo {
  modules: {
    specifier: string;
    dependencies?: { code?: { specifier?: string }; type?: { specifier?: string } }[];
  }[];
}

/**
 * The import graph of every `.ts` file in the product folders, read with one
 * `deno info --json` over a root that imports them all.
 */
export async function productGraph(root: URL): Promise<ImportGraph> {
  const files: string[] = [];
  for (const layer of Object.keys(LAYERS)) {
    const url = new URL(layer, root);
    if (layer.endsWith(".ts")) files.push(url.href);
    else for await (const file of walkTs(url)) files.push(file);
  }
  const entry = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(
      entry,
      files.map((file) => `import ${JSON.stringify(file)};\n`).join(""),
    );
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: fromFileUrl(root),
      stderr: "inherit",
    }).output();
    if (!output.success) throw new Error("deno info failed");
    const info: DenoInfo = JSON.parse(new TextDecoder().decode(output.stdout));
    const rootPath = fromFileUrl(root);
    const local = (specifier: string | undefined) =>
      specifier?.startsWith("file:") ? relative(rootPath, fromFileUrl(specifier)) : undefined;
    const graph = new Map<string, string[]>();
    for (const module of info.modules) {
      const file = local(module.specifier);
      if (!file || file.startsWith("..")) continue;
      const imports = new Set<string>();
      for (const dependency of module.dependencies ?? []) {
        for (const target of [dependency.code?.specifier, dependency.type?.specifier]) {
          const path = local(target);
          if (path && !path.endsWith(".json")) imports.add(path);
        }
      }
      graph.set(file, [...imports]);
    }
    return graph;
  } finally {
    await Deno.remove(entry);
  }
}

async function* walkTs(dir: URL): AsyncIterable<string> {
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) yield* walkTs(url);
    else if (entry.name.endsWith(".ts")) yield url.href;
  }
}

/** Runs the check on this project; exits 1 with one line per problem. */
export async function main(): Promise<void> {
  const root = pathToFileURL(`${Deno.cwd()}/`);
  const problems = layerViolations(await productGraph(root));
  for (const problem of problems) console.error(problem);
  if (problems.length > 0) Deno.exit(1);
  console.log(`layers ok: ${LIB.join(" → ")}, policies, fixtures, tasks, main.ts`);
}

if (import.meta.main) await main();
