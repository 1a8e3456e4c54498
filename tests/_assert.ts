/**
 * The assertions every test imports. JSR (`@std/assert`) is unreachable where
 * this is built, so these are `node:assert/strict` behind `@std/assert`'s names
 * and argument order: switching is this one file.
 *
 * @module
 */
import nodeAssert from "node:assert/strict";

/** Asserts `value` is truthy. */
export function assert(value: unknown, message?: string): asserts value {
  nodeAssert.ok(value, message);
}

/** Asserts deep, strict equality. */
export function assertEquals<T>(
  actual: unknown,
  expected: T,
  message?: string,
): asserts actual is T {
  nodeAssert.deepStrictEqual(actual, expected, message);
}

/** Asserts `actual` matches `expected`. */
export function assertMatch(actual: string, expected: RegExp, message?: string): void {
  nodeAssert.match(actual, expected, message);
}

/** Asserts `actual` contains `expected`. */
export function assertStringIncludes(actual: string, expected: string, message?: string): void {
  nodeAssert.ok(
    actual.includes(expected),
    message ?? `expected ${JSON.stringify(actual)} to include ${JSON.stringify(expected)}`,
  );
}

/** Asserts `fn` throws an instance of `ErrorClass` whose message includes `messageIncludes`. */
export function assertThrows(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  ErrorClass: new (...args: any[]) => Error,
  messageIncludes = "",
): void {
  nodeAssert.throws(
    fn,
    (error: unknown) => error instanceof ErrorClass && error.message.includes(messageIncludes),
  );
}

/** Asserts `fn` rejects with an instance of `ErrorClass` whose message includes `messageIncludes`. */
export async function assertRejects(
  fn: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  ErrorClass: new (...args: any[]) => Error,
  messageIncludes = "",
): Promise<void> {
  await nodeAssert.rejects(
    fn,
    (error: unknown) => error instanceof ErrorClass && error.message.includes(messageIncludes),
  );
}
