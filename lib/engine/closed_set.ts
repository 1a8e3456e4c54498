/**
 * Validation of option lists drawn from a fixed vocabulary (authorization
 * methods, wallets, 3-D Secure results…).
 *
 * @module
 */

/**
 * Checks once, at start-up, that `values` is a list of members of `known`
 * and returns it as a `Set`. Throws naming `owner` and `name`: a `TypeError`
 * when `values` is not a list, a `RangeError` for an unknown member.
 * `undefined` gives the empty set.
 *
 * @example
 * ```ts
 * import { closedSet } from "./closed_set.ts";
 * import { equal, throws } from "node:assert/strict";
 * equal(closedSet(["chip"], ["chip", "swipe"], "blockAuthorizationMethods", "methods").has("chip"), true);
 * throws(() => closedSet(["chp"], ["chip", "swipe"], "blockAuthorizationMethods", "methods"), RangeError);
 * ```
 */
export function closedSet<T extends string>(
  values: readonly string[] | undefined,
  known: readonly T[],
  owner: string,
  name: string,
): ReadonlySet<T> {
  if (values === undefined) return new Set();
  if (!Array.isArray(values)) {
    throw new TypeError(`Cannot create ${owner}: "${name}" must be a list of ${known.join(", ")}`);
  }
  for (const value of values) {
    if (!known.includes(value as T)) {
      throw new RangeError(
        `Cannot create ${owner}: ${JSON.stringify(value)} in "${name}" is not one of ${
          known.join(", ")
        }`,
      );
    }
  }
  return new Set(values as T[]);
}
