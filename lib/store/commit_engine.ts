/**
 * The group-commit engine under the decision log: jobs that read and write
 * Deno KV keys are batched into atomic commits that check every versionstamp
 * they read, so durability costs one commit per batch, not per request, and
 * what a job read is still true when its writes land (across processes too).
 *
 * @module
 */
import { Deadline, TIMED_OUT } from "../engine/deadline.ts";
import { isLocked, isStoreFailing } from "./kv_path.ts";

/**
 * Deno KV's limits per atomic operation and per value
 * (https://docs.deno.com/deploy/kv/manual/transactions/ and `deno/ext/kv`
 * `KvConfig`): 100 checks, 1,000 mutations, 800 KiB of keys and values in
 * total, 64 KiB per value.
 */
export const KV_LIMITS = {
  checks: 100,
  mutations: 1_000,
  commitBytes: 800 * 1024,
  valueBytes: 64 * 1024,
} as const;

/**
 * The deadline of a job nobody waits on: a fallback recorded after its
 * answer, a lifecycle event applied.
 */
export const BACKGROUND_MS = 10_000;

/** A batch stays this far below KV's byte limit: job sizes are estimates. */
const BATCH_BYTES = 600 * 1024;
/** Keys per `getMany` (KV's limit). */
const GET_MANY_KEYS = 10;
/** Jobs give up after this many failed attempts, even with time left (about a second of them). */
const MAX_ATTEMPTS = 60;
/** Conflicts read again at once this many times, then back off like lock errors. */
const IMMEDIATE_CONFLICT_RETRIES = 2;
/**
 * Conflicts in a row after which a batch leaves its later half to the next
 * batch: keys another process keeps writing fail every attempt of a batch
 * that holds them, and the jobs not on them need not wait for it.
 */
const SPLIT_AFTER_CONFLICTS = 3;
/**
 * Backoff after a lock error: about 1 ms (jittered) for the first
 * `LOCK_SPINS` attempts, then doubling up to `MAX_BACKOFF_MS`. The lock is
 * held by another process's commit for a few milliseconds: waiting a
 * millisecond at a time takes it soon after it frees, where doubling from the
 * start overshot it (`deno serve --parallel` had a p99 of 300 ms). A conflict
 * (another process changed a key) is read again at once, twice, then backs
 * off the same way: a key another process keeps writing would otherwise use
 * up the attempts in milliseconds.
 */
const FIRST_BACKOFF_MS = 1;
const LOCK_SPINS = 8;
const MAX_BACKOFF_MS = 20;
/**
 * Batches in flight at once: the next is read and decided while one commits.
 * One alone leaves the writer idle while a batch is prepared; a third adds
 * nothing, as SQLite writes one commit at a time.
 */
const MAX_IN_FLIGHT = 2;
/**
 * How long a batch waits for a read before reading again, on its first
 * attempt: a KV read answers in milliseconds (a KV server in another region:
 * a round trip of about 100 ms), and a batch waiting for one holds up every
 * batch after it. Past every request's deadline (Stripe waits 2 s), so only
 * a batch with a background job in it has its read cut short.
 */
const READ_WAIT_MS = 2_000;
/** A commit given up before it landed: a key it assumed absent was not (see `assumedWrongly`). */
const STALE = Symbol("stale");
/**
 * Bounds the versionstamp cache (counters, mostly): the key used longest ago
 * goes first, which costs a read (and `lastKnown` its value).
 */
const MAX_CACHED_KEYS = 20_000;

/** The values a batch read, as the jobs in it see them, in order. */
export interface BatchView {
  /** The key's value: as read, or as an earlier job in this batch set it. */
  get<T>(key: Deno.KvKey): T | null;
  /** Sets one of the job's own keys; later jobs in the batch see it, the commit writes it. */
  set(key: Deno.KvKey, value: unknown, expireInMs?: number): void;
  /** Whether `key` is one the batch read (so `get` and `set` take it). */
  has(key: Deno.KvKey): boolean;
  /**
   * Whether `get(key)` is a value KV holds (read from it, or cached from a
   * commit that landed): not one this batch set, one a batch in flight is
   * writing, or one assumed absent.
   */
  committed(key: Deno.KvKey): boolean;
}

/**
 * What one run of a job gives: a result, its other writes and its share of
 * the batch's shared writes (see {@linkcode CommitEngineOptions.beforeCommit}),
 * or a promise to wait for outside the batch.
 */
export type JobStep<T, S = never> =
  | {
    readonly done: T;
    readonly write?: (operation: Deno.AtomicOperation) => void;
    readonly shared?: S;
  }
  | { readonly defer: Promise<unknown> };

/**
 * A unit of work for the engine. `run` is called in the batch's serial
 * section, once per attempt (so it must derive everything from the view), and
 * only sets keys it listed in `keys`.
 */
export interface CommitJob<T, S = never> {
  /** Keys read and checked at commit (and the only ones `view.set` may write). */
  readonly keys: readonly Deno.KvKey[];
  /** Upper bound of its mutations besides `keys` (records, indexes, aggregates). */
  readonly mutations: number;
  /** Estimated bytes it writes. */
  readonly bytes: number;
  /** Dropped (rejected with {@linkcode DeadlineExceededError}) if not committing by then. */
  readonly deadline: Deadline;
  /**
   * A key (of `keys`) assumed absent on the first attempt unless this process
   * saw it: the commit checks it, and when the commit cannot land (locked,
   * refused) it is read, and the batch runs again if it was there.
   */
  readonly likelyAbsent?: Deno.KvKey;
  run(view: BatchView): JobStep<T, S>;
}

/** A job whose deadline passed before it could be committed: nothing of it was written. */
export class DeadlineExceededError extends Error {
  override name = "DeadlineExceededError";
  constructor(override readonly cause?: unknown) {
    super(
      cause instanceof Error
        ? `not committed before the deadline (last error: ${cause.message})`
        : "not committed before the deadline",
    );
  }
}

/**
 * A job whose commit failed `MAX_ATTEMPTS` times (transient errors, another
 * process's writes) with time left: nothing of it was written, and it may
 * well commit later.
 */
export class AttemptsExhaustedError extends Error {
  override name = "AttemptsExhaustedError";
  constructor(override readonly cause?: unknown) {
    super(`commit kept failing after ${MAX_ATTEMPTS} attempts`, { cause });
  }
}

/** What `onRetry` is given for a conflict: a key the batch read was written meanwhile. */
const CONFLICT = new Error("conflict: a key the batch read was written meanwhile");

/**
 * Whether `error` says the store ran out of time rather than failed: a
 * deadline missed after waiting or conflicts (other writers kept winning),
 * not after an error such as "database is locked".
 *
 * @example
 * ```ts
 * import { DeadlineExceededError, isTimeout } from "./commit_engine.ts";
 * import { equal } from "node:assert/strict";
 * equal(isTimeout(new DeadlineExceededError()), true);
 * equal(isTimeout(new DeadlineExceededError(new Error("database is locked"))), false);
 * equal(isTimeout(new Error("database is locked")), false);
 * ```
 */
export function isTimeout(error: unknown): boolean {
  return error instanceof DeadlineExceededError &&
    (!(error.cause instanceof Error) || error.cause === CONFLICT);
}

/** Options of {@linkcode createCommitEngine}; `S` is what jobs share (e.g. counts to add). */
export interface CommitEngineOptions<S = never> {
  /** Called on each retried lock error or conflict, for logging. */
  readonly onRetry?: (error: unknown, attempt: number) => void;
  /**
   * Adds a batch's shared writes (e.g. `sum`s that never conflict) once its
   * jobs ran, given the `shared` of those that gave one: one mutation per key
   * for the whole batch.
   */
  readonly beforeCommit?: (operation: Deno.AtomicOperation, shared: readonly S[]) => void;
}

/** The engine: submit jobs, get their results once committed. */
export interface CommitEngine<S = never> {
  /** Resolves with the job's result once its batch committed. */
  submit<T>(job: CommitJob<T, S>): Promise<T>;
  /**
   * The value of `key` as this process last read or committed it, without
   * reading KV (`undefined` if not known): kept through failed commits, for
   * what must be decided while the store cannot answer.
   */
  lastKnown(key: Deno.KvKey): unknown;
}

interface Entry {
  readonly job: CommitJob<unknown, unknown>;
  readonly keyIds: readonly string[];
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  /** Why an earlier batch left it uncommitted: the cause if its deadline passes in the queue. */
  lastError?: unknown;
}

interface Cached {
  readonly value: unknown;
  readonly versionstamp: string | null;
}

/**
 * A key's value as this process last read or committed it. `stale` once a
 * commit that read it failed or its outcome is unknown: still what
 * `lastKnown` answers, but read again before a batch relies on it.
 */
interface CacheEntry extends Cached {
  readonly stale?: true;
}

interface InFlightWrite {
  readonly value: unknown;
  /** Its batch's versionstamp once committed, `null` if that commit failed. */
  readonly committed: Promise<string | null>;
}

/**
 * Creates the engine over an open `Deno.Kv`.
 *
 * Jobs queue; a batch takes the longest run of queued jobs that fits KV's
 * limits (checks, mutations, bytes), reads their keys (from this process's
 * cache of what it last read or wrote, else from KV), runs each job in order
 * against one view (so two jobs on one card see each other's writes), and
 * commits everything in one atomic operation that checks every versionstamp it
 * relied on. Up to `MAX_IN_FLIGHT` batches are in flight at once: the next
 * batch is read and run while the previous one commits, and commits side by
 * side with it. It leaves queued the jobs on keys a batch in flight writes
 * (they go in a batch after that one lands), so one hot card never holds up
 * the others. Jobs on one key commit in the order submitted while nothing
 * fails; a batch that conflicts, is split or defers a job may let a later
 * job on its keys commit first (each still decides on what the other
 * wrote: only the order of arrival is not kept). A batch run again
 * at once (after a job deferred or failed, or a half of a batch KV refused)
 * can read a value a batch taken meanwhile is writing: it commits once that
 * one landed, with its versionstamps, or reads again if it failed.
 *
 * - A conflict (another process wrote a key) re-reads and re-runs the batch;
 *   after three in a row it leaves its later half to the next batch, so jobs
 *   off a key another process keeps writing are not held to it.
 * - "database is locked" (another process is writing the file) retries the
 *   same commit, about every millisecond and then backing off, while the
 *   jobs' deadlines allow: what it read is still checked. Other transient
 *   errors read and run the batch again.
 * - A store that refuses every write (a full disk, a read-only file) fails
 *   the batch's jobs at once. Any other commit error (a value too large, an
 *   invalid key) splits the batch and commits the halves alone, so one bad
 *   job fails only itself.
 * - A key assumed absent (`likelyAbsent`) is read when the commit that
 *   checks it cannot land (a lock that outlasts the first spins, a refused
 *   write); if it was there, the batch runs again on what KV holds.
 * - A job whose deadline passes before its batch commits is dropped and
 *   rejected with {@linkcode DeadlineExceededError}: nothing of it is written.
 * - A job that returns `{ defer }` leaves the batch and is queued again when
 *   the promise settles (async policies wait outside the serial section).
 *
 * @example
 * ```ts
 * import { createCommitEngine } from "./commit_engine.ts";
 * import { Deadline } from "../engine/deadline.ts";
 * import { equal } from "node:assert/strict";
 * using kv = await Deno.openKv(":memory:");
 * const engine = createCommitEngine(kv);
 * const add = (n: number) => engine.submit({
 *   keys: [["total"]], mutations: 0, bytes: 16, deadline: Deadline.after(1_000),
 *   run(view) {
 *     const total = (view.get<number>(["total"]) ?? 0) + n;
 *     view.set(["total"], total);
 *     return { done: total };
 *   },
 * });
 * const totals = await Promise.all([add(1), add(2), add(3)]);
 * equal(totals.at(-1), 6);
 * equal((await kv.get(["total"])).value, 6);
 * ```
 */
export function createCommitEngine<S = never>(
  kv: Deno.Kv,
  options: CommitEngineOptions<S> = {},
): CommitEngine<S> {
  const queue: Entry[] = [];
  const cache = new Map<string, CacheEntry>();
  /** Caches `entry` as the key's most recently used (the last to be evicted). */
  function keep(id: string, entry: CacheEntry): void {
    cache.delete(id);
    cache.set(id, entry);
    if (cache.size > MAX_CACHED_KEYS) cache.delete(cache.keys().next().value!);
  }
  /**
   * Keeps the newest of what a batch `read` before a commit that failed, as
   * stale: all of it when `uncached` (the commit's outcome may have changed
   * those keys), else only what is newer than the cache.
   */
  function remember(read: ReadonlyMap<string, Cached>, uncached: boolean): void {
    for (const [id, entry] of read) {
      const cached = cache.get(id);
      const best = newest(entry, cached);
      // Absent (a new authorization's state, an unused counter) is what an unknown key reads as.
      if (best?.value == null) {
        if (uncached) cache.delete(id);
      } else if (uncached || best !== cached) {
        keep(id, { value: best.value, versionstamp: best.versionstamp, stale: true });
      }
    }
  }
  /**
   * What batches in flight are writing: the next batch reads these values
   * and, before it commits, waits for their commit's versionstamp (or, if
   * that commit failed, reads again).
   */
  const inFlightWrites = new Map<string, InFlightWrite>();
  let inFlight = 0;
  /** Jobs submitted so far (requeued deferred jobs too): tells a pump that found nothing to look again. */
  let submitted = 0;
  /** Settles when the last batch started has read, run and announced its writes. */
  let prepareTurn: Promise<void> = Promise.resolve();
  let waitingForTurn = false;

  /**
   * Starts a batch slot if one is free. Batches prepare (read and run) one
   * after the other, each against what the one before writes, and take their
   * jobs from the queue only when their turn comes, so a batch holds
   * everything that queued while the previous one prepared.
   */
  function pump(): void {
    if (waitingForTurn || inFlight >= MAX_IN_FLIGHT || queue.length === 0) return;
    waitingForTurn = true;
    inFlight++;
    const { promise: prepared, resolve: donePreparing } = Promise.withResolvers<void>();
    const previous = prepareTurn;
    prepareTurn = prepared;
    let took = false;
    let submittedBefore = 0;
    previous.then(async () => {
      waitingForTurn = false;
      submittedBefore = submitted;
      const batch = takeBatch();
      if (batch.length > 0) {
        took = true;
        pump();
        await commitBatch(batch, donePreparing);
      }
    }).finally(() => {
      donePreparing();
      inFlight--;
      // A batch that took nothing left only jobs waiting on one in flight, which pumps when it
      // lands; a job submitted since it looked may not wait on any, so it looks again.
      if (took || submitted !== submittedBefore) pump();
    });
  }

  /**
   * The next batch: queued jobs in order, as many as fit KV's limits, leaving
   * for a later batch those that read a key a batch in flight is writing (and
   * every later job on their keys, so each key's jobs keep their order). A
   * batch that reads no key in flight commits at once, beside the others,
   * instead of waiting for their versionstamps: with many cards, nearly every
   * batch. Jobs left behind are taken when that batch lands (it pumps).
   */
  function takeBatch(): Entry[] {
    const batch: Entry[] = [];
    const keysInBatch = new Set<string>();
    const waiting = new Set<string>();
    const left: Entry[] = [];
    let mutations = 0, bytes = 0;
    let full = false;
    for (const entry of queue) {
      if (full) {
        left.push(entry);
        continue;
      }
      if (entry.job.deadline.remainingMs() === 0) {
        entry.reject(new DeadlineExceededError(entry.lastError));
        continue;
      }
      if (entry.keyIds.some((id) => waiting.has(id) || inFlightWrites.has(id))) {
        for (const id of entry.keyIds) waiting.add(id);
        left.push(entry);
        continue;
      }
      const newKeys = entry.keyIds.filter((id) => !keysInBatch.has(id)).length;
      const entryMutations = entry.job.mutations + entry.keyIds.length;
      if (
        batch.length > 0 && (keysInBatch.size + newKeys > KV_LIMITS.checks ||
          mutations + entryMutations > KV_LIMITS.mutations ||
          bytes + entry.job.bytes > BATCH_BYTES)
      ) {
        full = true;
        left.push(entry);
        continue;
      }
      for (const id of entry.keyIds) keysInBatch.add(id);
      // From here its batch's own errors say why (only a split sets one: the hot path never does).
      if (entry.lastError) entry.lastError = undefined;
      mutations += entryMutations;
      bytes += entry.job.bytes;
      batch.push(entry);
    }
    queue.length = 0;
    queue.push(...left);
    return batch;
  }

  /** Queues `entries` again: at the head (for the next batch) or at the end. */
  function requeue(entries: readonly Entry[], at: "head" | "end"): void {
    submitted += entries.length;
    if (at === "head") queue.unshift(...entries);
    else queue.push(...entries);
    pump();
  }

  async function commitBatch(batch: Entry[], donePreparing: () => void): Promise<void> {
    let lastError: unknown;
    let conflicts = 0;
    for (let attempt = 1;; attempt++) {
      batch = batch.filter((entry) => {
        if (entry.job.deadline.remainingMs() > 0 && attempt <= MAX_ATTEMPTS) return true;
        entry.reject(
          attempt > MAX_ATTEMPTS
            ? new AttemptsExhaustedError(lastError)
            : new DeadlineExceededError(lastError),
        );
        return false;
      });
      if (batch.length === 0) return;
      const outcome = await attemptBatch(batch, attempt, donePreparing);
      if (outcome === "committed") return;
      // Read again from KV at once: not a conflict to count, log or back off from.
      if (outcome === "stale") continue;
      if (outcome instanceof Array) {
        // A job failed by itself: commit the others without it.
        batch = outcome;
        attempt = 0;
        continue;
      }
      if (outcome instanceof Error && !isTransient(outcome)) {
        // A full disk fails every job alike: no job of its own to find. Each is rejected at once,
        // for its request to be answered, and its caller to retry recording what it answered.
        if (batch.length === 1 || isStoreFailing(outcome)) {
          for (const entry of batch) entry.reject(outcome);
          return;
        }
        // One job's write (too large, invalid) fails the commit: find it by halves.
        const half = Math.ceil(batch.length / 2);
        await commitBatch(batch.slice(0, half), donePreparing);
        await commitBatch(batch.slice(half), donePreparing);
        return;
      }
      if (outcome instanceof Error && !(outcome instanceof DeadlineExceededError)) {
        lastError = outcome;
        options.onRetry?.(outcome, attempt);
      }
      if (outcome === "conflict") {
        lastError = CONFLICT;
        options.onRetry?.(CONFLICT, attempt);
        if (++conflicts >= SPLIT_AFTER_CONFLICTS && batch.length > 1) {
          const half = Math.ceil(batch.length / 2);
          for (const entry of batch.slice(half)) entry.lastError = CONFLICT;
          requeue(batch.slice(half), "head");
          batch = batch.slice(0, half);
          conflicts = 0;
        }
        if (attempt <= IMMEDIATE_CONFLICT_RETRIES) continue;
      }
      // Never past the soonest deadline: the next attempt then drops what expired.
      await sleep(Math.min(lockBackoff(attempt), soonestDeadline(batch).remainingMs()));
    }
  }

  /**
   * One read-run-commit attempt. Returns `committed`, `conflict`, `stale`
   * (nothing was committed, and the batch is to run again at once: a batch
   * it read values from failed, or a key it assumed absent is not), the
   * error (read or commit), or the batch without jobs that failed or
   * deferred.
   */
  async function attemptBatch(
    batch: Entry[],
    attempt: number,
    donePreparing: () => void,
  ): Promise<"committed" | "conflict" | "stale" | Error | Entry[]> {
    const optimistic = attempt === 1;
    const keys = new Map<string, Deno.KvKey>();
    const likelyNew = new Set<string>();
    for (const entry of batch) {
      entry.job.keys.forEach((key, i) => keys.set(entry.keyIds[i], key));
      if (entry.job.likelyAbsent) likelyNew.add(keyId(entry.job.likelyAbsent));
    }
    const read = new Map<string, Cached>();
    const toRead: Deno.KvKey[] = [];
    const assumed: Deno.KvKey[] = [];
    const waitFor = new Map<string, Promise<string | null>>();
    for (const [id, key] of keys) {
      const pending = optimistic ? inFlightWrites.get(id) : undefined;
      const cached = optimistic ? cache.get(id) : undefined;
      if (pending) {
        read.set(id, { value: pending.value, versionstamp: null });
        waitFor.set(id, pending.committed);
      } else if (cached && !cached.stale) read.set(id, cached);
      else if (optimistic && likelyNew.has(id)) {
        read.set(id, { value: null, versionstamp: null });
        assumed.push(key);
      } else toRead.push(key);
    }
    const deadline = latestDeadline(batch);
    /**
     * Whether a key assumed absent is not, read once the commit that would
     * have said so (its check) cannot land: a job ran on a value it never
     * read (a redelivery taken for a new request), and must run again on what
     * KV holds before its request is answered without the store.
     */
    const assumedWrongly = async () => {
      if (assumed.length === 0) return false;
      try {
        const entries = await deadline.within(READ_WAIT_MS).race(getMany(kv, assumed));
        return entries !== TIMED_OUT && entries.some((entry) => entry.versionstamp !== null);
      } catch {
        return false; // Not read either: the jobs stand as they ran.
      }
    };
    try {
      // Everything cached or announced: no read, and no timer for one. A read that does not answer
      // holds up every batch after it (they prepare in turn): only until the latest deadline in
      // the batch or for `READ_WAIT_MS`, whichever comes first (twice as long each attempt, so a
      // store that is slow, not stuck, is still read), then it is dropped and read again.
      const readWait = READ_WAIT_MS * 2 ** (attempt - 1);
      const entries = toRead.length === 0
        ? []
        : await deadline.within(readWait).race(getMany(kv, toRead));
      if (entries === TIMED_OUT) {
        donePreparing();
        return new DeadlineExceededError();
      }
      for (const entry of entries) {
        read.set(keyId(entry.key), { value: entry.value, versionstamp: entry.versionstamp });
      }
    } catch (error) {
      donePreparing();
      return asError(error);
    }

    const view = new View(read);
    const operation = kv.atomic();
    const done: [Entry, unknown][] = [];
    const shared: S[] = [];
    const remaining: Entry[] = [];
    for (const entry of batch) {
      let step: JobStep<unknown, unknown>;
      try {
        view.begin();
        step = entry.job.run(view);
      } catch (error) {
        view.rollback();
        entry.reject(error);
        continue;
      }
      if ("defer" in step) {
        view.rollback();
        const again = () => requeue([entry], "end");
        step.defer.then(again, again);
        continue;
      }
      view.keep();
      step.write?.(operation);
      if (step.shared !== undefined) shared.push(step.shared as S);
      done.push([entry, step.done]);
      remaining.push(entry);
    }
    if (remaining.length < batch.length) {
      donePreparing();
      return remaining;
    }
    options.beforeCommit?.(operation, shared);
    for (const [id, { value, expireInMs }] of view.dirty) {
      operation.set(keys.get(id)!, value, expireInMs ? { expireIn: expireInMs } : undefined);
    }
    // Announce this batch's writes: the next batch is read and decided while this one commits.
    const { promise: ownCommit, resolve: settle } = Promise.withResolvers<string | null>();
    const announced: [string, InFlightWrite][] = [...view.dirty].map((
      [id, { value }],
    ) => [id, { value, committed: ownCommit }]);
    for (const [id, write] of announced) inFlightWrites.set(id, write);
    donePreparing();
    let committed: Deno.KvCommitResult | Deno.KvCommitError | typeof TIMED_OUT | null = null;
    try {
      // Values read from a batch still in flight are checked against its commit, once it lands.
      for (const [id, pending] of waitFor) {
        const versionstamp = await pending;
        if (versionstamp === null) return "stale";
        read.set(id, { value: read.get(id)!.value, versionstamp });
      }
      for (const [id, key] of keys) {
        operation.check({ key, versionstamp: read.get(id)!.versionstamp });
      }
      const landed = await commitWaitingForLock(
        operation,
        deadline,
        soonestDeadline(batch),
        assumedWrongly,
      );
      if (landed === STALE) return "stale";
      committed = landed;
    } catch (error) {
      remember(read, false);
      if (await assumedWrongly()) return "stale";
      return asError(error);
    } finally {
      settle(committed && committed !== TIMED_OUT && committed.ok ? committed.versionstamp : null);
      for (const [id, write] of announced) {
        if (inFlightWrites.get(id) === write) inFlightWrites.delete(id);
      }
    }
    if (committed === TIMED_OUT) {
      remember(read, true);
      for (const [entry] of done) entry.reject(new Error("KV commit outcome unknown (timed out)"));
      return "committed";
    }
    if (!committed.ok) {
      remember(read, true);
      return "conflict";
    }
    for (const [id, cached] of read) {
      // A key assumed absent (a new authorization) is rarely needed again: not worth its memory.
      if (likelyNew.has(id)) continue;
      const written = view.dirty.get(id);
      keep(id, written ? { value: written.value, versionstamp: committed.versionstamp } : cached);
    }
    for (const [entry, value] of done) entry.resolve(value);
    return "committed";
  }

  /**
   * Commits `operation`, retrying the same operation while another process
   * holds the write lock: what it read is still checked, so nothing needs to
   * be decided again (a conflict, once the lock frees, is reported as such),
   * but a key it assumed absent is read once the lock outlasts the first
   * spins (`STALE` if it was there). It waits for the lock only until the
   * soonest job's deadline: then
   * the batch is made again without the jobs that expired, which are never
   * written. A commit cannot be called back: after the latest deadline (and
   * a grace) its outcome is unknown.
   */
  async function commitWaitingForLock(
    operation: Deno.AtomicOperation,
    latest: Deadline,
    soonest: Deadline,
    assumedWrongly: () => Promise<boolean>,
  ): Promise<Deno.KvCommitResult | Deno.KvCommitError | typeof TIMED_OUT | typeof STALE> {
    for (let attempt = 1;; attempt++) {
      try {
        return await Deadline.after(latest.remainingMs() + 1_000).race(operation.commit());
      } catch (error) {
        if (!isLocked(error) || soonest.remainingMs() === 0 || attempt >= MAX_ATTEMPTS) throw error;
        // A lock past the spins may outlast the deadline: what the checks would tell is read now
        // (a short lock, routine under `deno serve --parallel`, ends in a conflict read anyway).
        if (attempt === LOCK_SPINS && await assumedWrongly()) return STALE;
        // Never past the soonest deadline, however long that read took: an expired job is not written.
        const remaining = soonest.remainingMs();
        if (remaining === 0) throw error;
        options.onRetry?.(error, attempt);
        await sleep(Math.min(lockBackoff(attempt), remaining));
      }
    }
  }

  return {
    lastKnown(key) {
      return cache.get(keyId(key))?.value;
    },
    submit<T>(job: CommitJob<T, S>): Promise<T> {
      const keyIds = job.keys.map(keyId);
      const checks = keyIds.length > KV_LIMITS.checks ? new Set(keyIds).size : 0;
      if (checks > KV_LIMITS.checks) {
        // No commit could ever hold it: say so at once instead of failing every attempt.
        return Promise.reject(
          new RangeError(
            `a job reads ${checks} keys, and a Deno KV commit checks at most ${KV_LIMITS.checks}`,
          ),
        );
      }
      const { promise, resolve, reject } = Promise.withResolvers<T>();
      submitted++;
      queue.push({
        job: job as CommitJob<unknown, unknown>,
        keyIds,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      pump();
      return promise;
    },
  };
}

/** The batch's values, with each job's writes staged until it finishes. */
class View implements BatchView {
  readonly dirty = new Map<string, { value: unknown; expireInMs?: number }>();
  #staged = new Map<string, { value: unknown; expireInMs?: number }>();
  constructor(readonly read: ReadonlyMap<string, Cached>) {}
  get<T>(key: Deno.KvKey): T | null {
    const id = keyId(key);
    const written = this.#staged.get(id) ?? this.dirty.get(id);
    if (written) return written.value as T;
    const cached = this.read.get(id);
    if (!cached) throw new RangeError(`key ${id} is not one of the job's keys`);
    return cached.value as T | null;
  }
  set(key: Deno.KvKey, value: unknown, expireInMs?: number): void {
    const id = keyId(key);
    if (!this.read.has(id)) throw new RangeError(`key ${id} is not one of the job's keys`);
    this.#staged.set(id, { value, expireInMs });
  }
  has(key: Deno.KvKey): boolean {
    return this.read.has(keyId(key));
  }
  committed(key: Deno.KvKey): boolean {
    const id = keyId(key);
    return !this.#staged.has(id) && !this.dirty.has(id) && !!this.read.get(id)?.versionstamp;
  }
  begin(): void {
    this.#staged.clear();
  }
  keep(): void {
    for (const [id, written] of this.#staged) this.dirty.set(id, written);
    this.#staged.clear();
  }
  rollback(): void {
    this.#staged.clear();
  }
}

/**
 * Whether a KV error is worth retrying: SQLite's lock and busy errors (several
 * processes on one file, `deno serve --parallel`) and KV Connect's transient
 * ones. Matched on the message: Deno KV throws plain `Error`s.
 */
function isTransient(error: Error): boolean {
  return error instanceof DeadlineExceededError || isLocked(error) ||
    /temporarily|timed out|connection/i.test(error.message);
}

function lockBackoff(attempt: number): number {
  return Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.max(0, attempt - LOCK_SPINS)) *
    (0.5 + Math.random());
}

function soonestDeadline(batch: readonly Entry[]): Deadline {
  return batch.reduce(
    (soonest, entry) => entry.job.deadline.at < soonest.at ? entry.job.deadline : soonest,
    batch[0].job.deadline,
  );
}

function latestDeadline(batch: readonly Entry[]): Deadline {
  return batch.reduce(
    (latest, entry) => entry.job.deadline.at > latest.at ? entry.job.deadline : latest,
    batch[0].job.deadline,
  );
}

/**
 * Reads `keys` in `getMany` calls of KV's 10 keys at most, side by side, in order.
 *
 * @example
 * ```ts
 * import { getMany } from "./commit_engine.ts";
 * import { equal } from "node:assert/strict";
 * using kv = await Deno.openKv(":memory:");
 * await kv.set(["k", 11], "eleventh");
 * const entries = await getMany<string>(kv, Array.from({ length: 12 }, (_, i) => ["k", i]));
 * equal(entries.length, 12);
 * equal(entries[11].value, "eleventh");
 * ```
 */
export async function getMany<T = unknown>(
  kv: Deno.Kv,
  keys: readonly Deno.KvKey[],
): Promise<Deno.KvEntryMaybe<T>[]> {
  if (keys.length === 0) return [];
  const chunks: Promise<Deno.KvEntryMaybe<T>[]>[] = [];
  for (let i = 0; i < keys.length; i += GET_MANY_KEYS) {
    chunks.push(kv.getMany<T[]>(keys.slice(i, i + GET_MANY_KEYS)));
  }
  return (await Promise.all(chunks)).flat();
}

/** A job's answer that it must read `needKeys` too (see {@linkcode submitAskingKeys}). */
export interface NeedKeys {
  readonly needKeys: readonly Deno.KvKey[];
}

/**
 * Submits `job(keys)` from `first` and, while its run answers that it must
 * read more keys (state it read names them: the counters an authorization's
 * requests reserved in), again with those too, at most `asks` times: more
 * means what it reads keeps moving under it. The last of them is told so
 * (`last`), and a job that can do without the keys it would ask for then
 * does; one that still asks fails.
 *
 * @example
 * ```ts
 * import { createCommitEngine, submitAskingKeys } from "./commit_engine.ts";
 * import { Deadline } from "../engine/deadline.ts";
 * import { equal } from "node:assert/strict";
 * using kv = await Deno.openKv(":memory:");
 * await kv.set(["names"], ["b"]);
 * const engine = createCommitEngine(kv);
 * // Reads the keys ["names"] lists too: asks for them once.
 * const read = await submitAskingKeys(engine, [["names"]], (keys) => ({
 *   keys, mutations: 0, bytes: 0, deadline: Deadline.after(1_000),
 *   run(view) {
 *     const named = view.get<string[]>(["names"])!.map((name): Deno.KvKey => [name]);
 *     const missing = named.filter(([name]) => !keys.some(([read]) => read === name));
 *     return { done: missing.length > 0 ? { needKeys: missing } : keys.length };
 *   },
 * }), 3);
 * equal(read, 2);
 * ```
 */
export async function submitAskingKeys<T, S>(
  engine: CommitEngine<S>,
  first: readonly Deno.KvKey[],
  job: (keys: readonly Deno.KvKey[], last: boolean) => CommitJob<T | NeedKeys, S>,
  asks: number,
): Promise<T> {
  let keys = first;
  for (let asked = 0;; asked++) {
    const result = await engine.submit(job(keys, asked === asks));
    if (!(result && typeof result === "object" && "needKeys" in result)) return result as T;
    if (asked === asks) throw new Error("the authorization's counters kept changing");
    keys = uniqueKeys([...keys, ...result.needKeys]);
  }
}

/**
 * Each key once, in first-seen order.
 *
 * @example
 * ```ts
 * import { uniqueKeys } from "./commit_engine.ts";
 * import { equal } from "node:assert/strict";
 * equal(uniqueKeys([["a", 1], ["b"], ["a", 1]]).length, 2);
 * ```
 */
export function uniqueKeys(keys: readonly Deno.KvKey[]): Deno.KvKey[] {
  return [...new Map(keys.map((key) => [keyId(key), key])).values()];
}

/** The later of two values read (by versionstamp; one not yet committed counts as oldest). */
function newest(a: Cached | undefined, b: Cached | undefined): Cached | undefined {
  if (!a || !b) return a ?? b;
  return (a.versionstamp ?? "") >= (b.versionstamp ?? "") ? a : b;
}

/**
 * `error` as an `Error` (a store may reject with anything).
 *
 * @example
 * ```ts
 * import { asError } from "./commit_engine.ts";
 * import { equal } from "node:assert/strict";
 * equal(asError("locked").message, "locked");
 * ```
 */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A stable text id of a KV key, for maps and sets.
 *
 * @example
 * ```ts
 * import { keyId } from "./commit_engine.ts";
 * import { equal } from "node:assert/strict";
 * equal(keyId(["usage", "card", "ic_1", 5]), keyId(["usage", "card", "ic_1", 5]));
 * ```
 */
export function keyId(key: Deno.KvKey): string {
  // The store's keys hold strings and numbers only (no bigint, no bytes): JSON is exact for them.
  return JSON.stringify(key);
}
