/**
 * One deadline per request, shared by every step that spends its time: the
 * policies, the store's commit and the API call all wait against the same
 * instant instead of each timing itself from its own start.
 *
 * @module
 */

/** What {@linkcode Deadline.race} resolves to when the deadline passes first. */
export const TIMED_OUT: unique symbol = Symbol("timed out");

/**
 * An instant on the `performance.now()` clock by which an answer must be ready.
 *
 * @example
 * ```ts
 * import { Deadline, TIMED_OUT } from "./deadline.ts";
 * import { equal } from "node:assert/strict";
 * const deadline = Deadline.after(20);
 * const never = new Promise<string>(() => {});
 * equal(await deadline.race(never), TIMED_OUT);
 * equal(await Deadline.after(1_000).race(Promise.resolve("on time")), "on time");
 * ```
 */
export class Deadline {
  #signal?: AbortSignal;

  /** `at` is a `performance.now()` reading. */
  constructor(readonly at: number) {}

  /** The deadline `ms` after `from` (default: now), both on the `performance.now()` clock. */
  static after(ms: number, from: number = performance.now()): Deadline {
    return new Deadline(from + ms);
  }

  /** Milliseconds left, never negative. */
  remainingMs(): number {
    return Math.max(0, this.at - performance.now());
  }

  /** Whichever comes first: this deadline, or `ms` from now. */
  within(ms: number): Deadline {
    return new Deadline(Math.min(this.at, performance.now() + ms));
  }

  /** Aborted when the deadline passes (made on first use), for `fetch` and async policies. */
  get signal(): AbortSignal {
    return this.#signal ??= AbortSignal.timeout(this.remainingMs());
  }

  /**
   * Settles like `promise`, or resolves {@linkcode TIMED_OUT} if the deadline
   * passes first. A rejection after the deadline is ignored (its caller has
   * already moved on); the timer is cleared either way.
   */
  async race<T>(promise: Promise<T>): Promise<T | typeof TIMED_OUT> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), this.remainingMs());
    });
    promise.catch(() => {});
    try {
      return await Promise.race([promise, expired]);
    } finally {
      clearTimeout(timer);
    }
  }
}
