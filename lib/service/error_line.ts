/**
 * An error as the one line a start-up failure or a task prints.
 *
 * @module
 */
import { relative } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * An error's message, first line only; and for a mistake in code (a syntax
 * error, or a name that is not defined, as a policy module with a typo
 * throws when it loads), where it is: the first file location its message or
 * stack names, relative to the working directory. Without it, the one line
 * did not say which file of `policies/` to open.
 *
 * @example
 * ```ts
 * import { errorLine } from "./error_line.ts";
 * import { equal } from "node:assert/strict";
 * const error = new ReferenceError("undefinedThing is not defined");
 * error.stack = `ReferenceError: undefinedThing is not defined\n    at file://${Deno.cwd()}/policies/x.ts:3:9`;
 * equal(errorLine(error), "undefinedThing is not defined (at policies/x.ts:3:9)");
 * equal(errorLine(new RangeError("limit must be positive\nmore")), "limit must be positive");
 * ```
 */
export function errorLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const first = message.split("\n")[0];
  // Deno reports a module's syntax error as a TypeError whose message starts `SyntaxError:`.
  const inCode = error instanceof SyntaxError || error instanceof ReferenceError ||
    first.startsWith("SyntaxError:");
  if (!inCode) return first;
  const where = /(file:\/\/\/[^\s)]+?):(\d+):(\d+)/.exec(
    `${message}\n${(error as Error).stack ?? ""}`,
  );
  if (!where) return first;
  return `${first} (at ${relative(Deno.cwd(), fileURLToPath(where[1]))}:${where[2]}:${where[3]})`;
}
