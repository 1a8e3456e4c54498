/**
 * Deep freezing, for what policies are given: a request they must not change.
 *
 * @module
 */

/** Objects this module froze with everything they hold (a caller's own `Object.freeze` is shallow). */
const frozenThrough = new WeakSet<object>();

function freezeAll(value: unknown): void {
  if (typeof value !== "object" || value === null) return;
  // Not an array itself: V8 serializes a frozen (or sealed) array's elements some three times
  // slower, and a request's record is serialized on every request (BENCHMARKS.md).
  if (!Array.isArray(value)) Object.freeze(value);
  // `Object.values`, not `for…in`: on objects just frozen, `for…in` made the
  // walk cost more than twice as much (`guard` in request_guard_bench.ts).
  const values = Object.values(value);
  for (let i = 0; i < values.length; i++) freezeAll(values[i]);
}

/**
 * Freezes `value` and every object it holds, in place, and returns it: a
 * value shaped like JSON (a request as Stripe sent it), which holds no cycle.
 * The objects in its arrays are frozen, the arrays themselves are not (see
 * `freezeAll`): a field written anywhere throws, an element pushed to a list
 * does not. Once per object: a request decided again is not walked again.
 *
 * @example
 * ```ts
 * import { deepFreeze } from "./deep_freeze.ts";
 * import { equal, throws } from "node:assert/strict";
 * const request = deepFreeze({
 *   pending_request: { amount: 500 },
 *   request_history: [{ amount: 300 }],
 * });
 * throws(() => { request.pending_request.amount = 1; }, TypeError);
 * throws(() => { request.request_history[0].amount = 1; }, TypeError);
 * equal(request.pending_request.amount, 500);
 * ```
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== "object" || value === null || frozenThrough.has(value)) return value;
  freezeAll(value);
  frozenThrough.add(value);
  return value;
}
