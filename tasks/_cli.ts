/**
 * What every command-line task shares: `--help`, one-line errors with a
 * non-zero exit instead of stack traces, and the local store's location.
 *
 * @module
 */
import { errorLine } from "../lib/service/error_line.ts";
import { resolve } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { DEFAULT_KV_PATH } from "../lib/service/config.ts";
import { printable } from "./_table.ts";

/** A mistake in how the task was called: exit code 2, as for a bad flag. */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * Runs a task's body and turns any error into one line on stderr, `error:
 * <what is wrong and how to fix it>`, with exit code 2 for a usage mistake
 * and 1 for anything else. Returns the exit code. The line's control and
 * format characters are escaped: a message may quote a malformed input line,
 * and the terminal must show an escape sequence in it, not act on it.
 *
 * @example
 * ```ts
 * import { runTask, UsageError } from "./_cli.ts";
 * import { equal } from "node:assert/strict";
 * const silent = console.error;
 * console.error = () => {};
 * equal(await runTask(() => { throw new UsageError("no file given"); }), 2);
 * equal(await runTask(() => Promise.resolve()), 0);
 * console.error = silent;
 * ```
 */
export async function runTask(body: () => Promise<number | void> | void): Promise<number> {
  try {
    return (await body()) ?? 0;
  } catch (error) {
    console.error(`error: ${printable(errorLine(error))}`);
    return error instanceof UsageError ? 2 : 1;
  }
}

/**
 * `parseArgs` that answers `--help` with `usage` (exit 0) and turns an
 * unknown flag into a {@linkcode UsageError} that shows the usage line.
 * Returns `undefined` after printing the help.
 */
export function parseTaskArgs<T extends ParseArgsConfig["options"]>(
  args: string[],
  options: T,
  usage: string,
):
  | ReturnType<typeof parseArgs<{ options: T; allowPositionals: true; args: string[] }>>
  | undefined {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(usage);
    return undefined;
  }
  try {
    return parseArgs({ args, options, allowPositionals: true });
  } catch (error) {
    const option = /Unknown option '([^']+)'/.exec(errorLine(error))?.[1];
    throw new UsageError(
      `${option ? `unknown option ${option}` : errorLine(error)}; see ${commandOf(usage)} --help`,
    );
  }
}

/**
 * For a task that takes no arguments: answers `--help` with `usage` and
 * returns `false`; refuses any other argument with a {@linkcode UsageError};
 * else returns `true`.
 *
 * @example
 * ```ts
 * import { parseNoArgs, UsageError } from "./_cli.ts";
 * import { equal, throws } from "node:assert/strict";
 * equal(parseNoArgs([], "usage: deno task reset"), true);
 * throws(() => parseNoArgs(["extra"], "usage: deno task reset"), UsageError);
 * ```
 */
export function parseNoArgs(args: string[], usage: string): boolean {
  const parsed = parseTaskArgs(args, {}, usage);
  if (!parsed) return false;
  if (parsed.positionals.length > 0) {
    throw usageError(`unexpected ${parsed.positionals[0]}`, usage);
  }
  return true;
}

/**
 * A {@linkcode UsageError} for a wrong call, pointing at `--help`.
 *
 * @example
 * ```ts
 * import { usageError } from "./_cli.ts";
 * import { equal } from "node:assert/strict";
 * equal(usageError("expected one file", "usage: deno task replay <file>").message, "expected one file; see deno task replay --help");
 * ```
 */
export function usageError(what: string, usage: string): UsageError {
  return new UsageError(`${what}; see ${commandOf(usage)} --help`);
}

/** `deno task replay` from `usage: deno task replay <file> …`. */
function commandOf(usage: string): string {
  return /^usage: (deno task [\w:]+)/.exec(usage)?.[1] ?? "the task";
}

/**
 * The directory the user ran `deno task` from: `INIT_CWD`, which `deno task`
 * sets, since it runs the task's command from the repository root; else the
 * working directory (the command run directly).
 *
 * @example
 * ```ts
 * import { shellDir } from "./_cli.ts";
 * import { equal } from "node:assert/strict";
 * equal(shellDir(), Deno.env.get("INIT_CWD") || Deno.cwd());
 * ```
 */
export function shellDir(): string {
  return Deno.env.get("INIT_CWD") || Deno.cwd();
}

/**
 * A file named on the command line, as the user's shell meant it: a relative
 * path resolved against {@linkcode shellDir}, not the repository root.
 *
 * @example
 * ```ts
 * import { fromShellDir } from "./_cli.ts";
 * import { equal } from "node:assert/strict";
 * equal(fromShellDir("/tmp/decisions.jsonl"), "/tmp/decisions.jsonl");
 * ```
 */
export function fromShellDir(path: string): string {
  return resolve(shellDir(), path);
}

/** The local store's path: `KV_PATH`, or the default file under `data/`. */
export function localKvPath(): string {
  return Deno.env.get("KV_PATH") || DEFAULT_KV_PATH;
}

/**
 * The environment variables `names` that are set, as `loadConfig` reads an
 * environment: a task parses the server's settings it shares with the
 * server's own parser, and refuses nothing else of the server's.
 *
 * @example
 * ```ts
 * import { sharedEnv } from "./_cli.ts";
 * import { equal } from "node:assert/strict";
 * Deno.env.set("SHARED_ENV_EXAMPLE", "approve");
 * equal(sharedEnv(["SHARED_ENV_EXAMPLE", "NOT_SET_ANYWHERE"]).get("SHARED_ENV_EXAMPLE"), "approve");
 * equal(sharedEnv(["NOT_SET_ANYWHERE"]).size, 0);
 * ```
 */
export function sharedEnv(names: readonly string[]): Map<string, string> {
  return new Map(names.flatMap((name) => {
    const value = Deno.env.get(name);
    return value === undefined ? [] : [[name, value] as const];
  }));
}
