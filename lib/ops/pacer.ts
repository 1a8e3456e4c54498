/**
 * Pacing for the reads people and scripts make (dashboard pages, the admin
 * API, exports): they share the thread that answers webhooks, so they take
 * turns, one at a time, each after a pause proportional to the one before.
 *
 * @module
 */
import { Deadline } from "../engine/deadline.ts";

/**
 * Each turn starts after a pause of at least this long, or four times what
 * the previous one took: readers going as fast as they can (or a script) take
 * at most a fifth of the thread, and about 5% when the overview comes from
 * its cache, waiting for their turn instead of delaying authorizations.
 */
const GAP_MS = 10;
const GAP_FACTOR = 4;
/** The queue waits this long at most for one turn; past it, the next one starts anyway. */
const WORK_MS = 5_000;
/** A turn's time counts up to this for the pause after it (at most 4 s). */
const MAX_COUNTED_MS = 1_000;

/** Turns waiting at most; past it, readers are told to retry (503 with `Retry-After`). */
const MAX_WAITING = 64;
/**
 * Exports running at most: each keeps a turn waiting for as long as it runs,
 * so without a bound, exports alone would fill the queue and turn pages away.
 */
const MAX_EXPORTS = 4;

/**
 * Runs work one turn at a time, each after a pause proportional to the one
 * before. A long read (an export) takes many short turns, a chunk each, so
 * no turn holds the thread for long.
 *
 * @example
 * ```ts
 * import { Pacer } from "./pacer.ts";
 * import { deepEqual } from "node:assert/strict";
 * const pacer = new Pacer();
 * const order: number[] = [];
 * await Promise.all([1, 2, 3].map((n) => pacer.run(async () => { order.push(n); })));
 * deepEqual(order, [1, 2, 3]);
 * deepEqual(pacer.isBusy("page"), false);
 * ```
 */
export class Pacer {
  #tail: Promise<void> = Promise.resolve();
  #nextStart = 0;
  #waiting = 0;
  #exports = 0;

  /**
   * Whether a read should be turned away for now (503 with `Retry-After`):
   * 64 turns waiting, or, for an export, 4 exports running.
   */
  isBusy(read: "page" | "export"): boolean {
    return this.#waiting >= MAX_WAITING || (read === "export" && this.#exports >= MAX_EXPORTS);
  }

  /** Counts an export as running until the handle is disposed (`using`). */
  exporting(): Disposable {
    this.#exports++;
    let running = true;
    return {
      [Symbol.dispose]: () => {
        if (running) this.#exports--;
        running = false;
      },
    };
  }

  /** Runs `work` in its turn; settles as it does. */
  run<T>(work: () => Promise<T>): Promise<T> {
    this.#waiting++;
    const { promise: result, resolve, reject } = Promise.withResolvers<T>();
    // The tail never rejects: each turn catches its work's failure and hands it to its caller.
    this.#tail = this.#tail.then(async () => {
      // A timer only while someone waits: an idle pacer holds none.
      const wait = this.#nextStart - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      this.#waiting--;
      const started = performance.now();
      const running = Promise.resolve().then(work);
      running.then(resolve, reject);
      // Never wedged by work that does not finish: the next turn starts after WORK_MS.
      await Deadline.after(WORK_MS).race(running.then(() => {}, () => {}));
      const now = performance.now();
      // A turn cut off at WORK_MS must not hold the next one for four times that.
      const took = Math.min(now - started, MAX_COUNTED_MS);
      this.#nextStart = now + Math.max(GAP_MS, GAP_FACTOR * took);
    });
    return result;
  }
}
