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

  /** `at` is a `performance.now()` reading; a non-finite one is a RangeError (it would never expire). */
  constructor(readonly at: number) {
    if (!Number.isFinite(at)) throw new RangeError(`a deadline must be finite, got ${at}`);
  }

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
   * already moved on). Races share one timer (see {@linkcode Waiters}).
   */
  race<T>(promise: Promise<T>): Promise<T | typeof TIMED_OUT> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { at: this.at, expire: () => resolve(TIMED_OUT), slot: -1 };
      waiters.add(waiter);
      promise.then((value) => {
        waiters.delete(waiter);
        resolve(value);
      }, (error) => {
        waiters.delete(waiter);
        reject(error);
      });
    });
  }
}

interface Waiter {
  readonly at: number;
  readonly expire: () => void;
  /** Its index in the heap, -1 once out of it. */
  slot: number;
}

/**
 * The races waiting on a deadline, in a binary min-heap by `at`, with one
 * timer armed for the soonest. A request races several deadlines (body, store,
 * the keep-alive wait for the next request head) and nearly all settle before
 * them: a `setTimeout` + `clearTimeout` per race was a measurable share of a
 * request's CPU time under `deno task load`. A waiter that settles is taken
 * out of the heap but the timer is left as armed (re-arming on every settle
 * would cost as much as a timer per race): when it fires with nothing due it
 * re-arms for the soonest waiter left. With no waiter left it is cleared, so
 * an idle process holds no timer.
 */
class Waiters {
  readonly #heap: Waiter[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #armedAt = Infinity;

  add(waiter: Waiter): void {
    waiter.slot = this.#heap.length;
    this.#heap.push(waiter);
    this.#up(waiter.slot);
    if (waiter.at < this.#armedAt) this.#arm();
  }

  delete(waiter: Waiter): void {
    if (waiter.slot < 0) return;
    const last = this.#heap.pop()!;
    if (last !== waiter) {
      this.#heap[waiter.slot] = last;
      last.slot = waiter.slot;
      this.#down(last.slot);
      this.#up(last.slot);
    }
    waiter.slot = -1;
    if (this.#heap.length === 0) this.#disarm();
  }

  #arm(): void {
    this.#disarm();
    const soonest = this.#heap[0];
    if (!soonest) return;
    this.#armedAt = soonest.at;
    // Timers take at most 2^31 - 1 ms (about 24 days); a later deadline re-arms on firing.
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, soonest.at - performance.now()));
    this.#timer = setTimeout(() => this.#fire(), delay);
  }

  #disarm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedAt = Infinity;
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedAt = Infinity;
    const now = performance.now();
    while (this.#heap.length > 0 && this.#heap[0].at <= now) {
      const due = this.#heap[0];
      this.delete(due);
      due.expire();
    }
    this.#arm();
  }

  #up(slot: number): void {
    const heap = this.#heap;
    while (slot > 0) {
      const parent = (slot - 1) >> 1;
      if (heap[parent].at <= heap[slot].at) return;
      this.#swap(slot, parent);
      slot = parent;
    }
  }

  #down(slot: number): void {
    const heap = this.#heap;
    for (;;) {
      const left = 2 * slot + 1;
      const right = left + 1;
      let least = slot;
      if (left < heap.length && heap[left].at < heap[least].at) least = left;
      if (right < heap.length && heap[right].at < heap[least].at) least = right;
      if (least === slot) return;
      this.#swap(slot, least);
      slot = least;
    }
  }

  #swap(a: number, b: number): void {
    const heap = this.#heap;
    [heap[a], heap[b]] = [heap[b], heap[a]];
    heap[a].slot = a;
    heap[b].slot = b;
  }
}

const waiters = new Waiters();
const MAX_TIMER_MS = 2 ** 31 - 1;
