/**
 * The velocity counters as a batch's jobs read and move them: which keys a
 * request reserves into, what it reads, and reservations added or given back
 * (never below zero). A counter is
 * `["usage", scope, scopeId, window, categories, currency, bucket]` →
 * {@linkcode Usage}.
 *
 * @module
 */
import { type CounterRef, NO_USAGE, type Usage } from "../engine/velocity.ts";
import { type BatchView, keyId, uniqueKeys } from "./commit_engine.ts";
import type { Reservation } from "./decision_record.ts";

/** The counters a request reserves into, and how long each lives (see {@linkcode counterKeys}). */
export interface ReservedKeys {
  /** Each counter's newest bucket, once. */
  readonly keys: Deno.KvKey[];
  /** How long each of `keys` lives after a write, in ms (`null`: an all-time counter, never). */
  readonly expireInMs: (number | null)[];
}

/**
 * The counters `entries` reserved in that `read` lacks, whole entries, the
 * newest (by position) first, while they fit in `room` more keys: what a job
 * must read too to move their reservations in one commit (Deno KV checks 100
 * keys at most). The entries left out keep their reservations until a later
 * commit moves them (see `applySnapshot`).
 *
 * @example
 * ```ts
 * import { keysOfEntries } from "./counters.ts";
 * import { deepEqual } from "node:assert/strict";
 * const entry = (position: number, day: string) =>
 *   ({ position, reservation: { keys: [["usage", "card", "ic_1", day]], amount: 1, count: 0 } });
 * const entries = [entry(0, "2026-11-24"), entry(1, "2026-11-25"), entry(2, "2026-11-26")];
 * const read = [["usage", "card", "ic_1", "2026-11-26"]];
 * deepEqual(keysOfEntries(entries, read, 1), [["usage", "card", "ic_1", "2026-11-25"]]);
 * ```
 */
export function keysOfEntries(
  entries: readonly {
    readonly position: number;
    readonly reservation: Pick<Reservation, "keys">;
  }[],
  read: readonly Deno.KvKey[],
  room: number,
): Deno.KvKey[] {
  const have = new Set(read.map(keyId));
  const more: Deno.KvKey[] = [];
  for (const entry of entries.toSorted((a, b) => b.position - a.position)) {
    const own = uniqueKeys(entry.reservation.keys).filter((key) => !have.has(keyId(key)));
    if (more.length + own.length > room) break;
    for (const key of own) have.add(keyId(key));
    more.push(...own);
  }
  return more;
}

/**
 * Adds `reservation` minus what `before` held to each of its counters, never
 * below zero; `before` is given back under its own keys when they differ (the
 * card's chain grew since, and its first card with it) and the job reads them.
 */
export function addToCounters(
  view: BatchView,
  reservation: Reservation,
  before?: Reservation,
): void {
  const sameKeys = !before || (before.keys.length === reservation.keys.length &&
    before.keys.every((key, i) => keyId(key) === keyId(reservation.keys[i])));
  if (sameKeys) {
    add(
      view,
      reservation,
      reservation.amount - (before?.amount ?? 0),
      reservation.count - (before?.count ?? 0),
    );
    return;
  }
  // The card's chain grew since `before` was reserved: it is given back under its own keys, when
  // the job reads them; a chain too long to read them all leaves it where it is (counted against
  // the chain where read, never for it).
  if (before.keys.every((key) => view.has(key))) add(view, before, -before.amount, -before.count);
  add(view, reservation, reservation.amount, reservation.count);
}

/** Adds `amount` and `count` to each of `reservation`'s keys (never below zero). */
function add(view: BatchView, reservation: Reservation, amount: number, count: number): void {
  if (amount === 0 && count === 0) return;
  reservation.keys.forEach((key, i) => {
    const usage = view.get<Usage>(key) ?? NO_USAGE;
    view.set(key, {
      amount: Math.max(0, usage.amount + amount),
      count: Math.max(0, usage.count + count),
    }, reservation.expireInMs?.[i] ?? undefined);
  });
}

/**
 * The counters a request reserves into (each counter's newest bucket), and
 * how long each lives: its own window's expiry, so a daily bucket expires
 * even beside an all-time counter (which never does).
 */
export function counterKeys(counters: CounterRef[]): ReservedKeys {
  const byId = [...new Map(counters.map((counter) => [keyId(counter.current), counter])).values()];
  return {
    keys: byId.map((counter) => counter.current),
    expireInMs: byId.map((counter) => counter.expireInMs ?? null),
  };
}

/** The sum of counter values read (an absent one is zero). */
export function sumUsage(values: readonly (Usage | null)[]): Usage {
  let amount = 0, count = 0;
  for (const value of values) {
    if (value) {
      amount += value.amount;
      count += value.count;
    }
  }
  return { amount, count };
}

/**
 * Reservations of answers given while the store could not commit them, by
 * counter key and by the answer's event, until they are committed (or given
 * up on): this process's decisions in the meantime count them, so a card's
 * limits hold through an outage that `FALLBACK_DECISION=approve` answers, and
 * right after it, before each answer's retry lands. A redelivery does not
 * count its own first answer. Another process does not see them. While one
 * lands, a decision may count it twice (in KV and here): never fewer.
 *
 * @example
 * ```ts
 * import { PendingReservations } from "./counters.ts";
 * import { deepEqual } from "node:assert/strict";
 * const pending = new PendingReservations();
 * const day = ["usage", "card", "ic_1", "2026-11-26"];
 * const reservation = { keys: [day], amount: 2_000, count: 1 };
 * pending.add("evt_1", reservation);
 * deepEqual(pending.plus({ amount: 1_000, count: 1 }, [day]), { amount: 3_000, count: 2 });
 * deepEqual(pending.plus({ amount: 1_000, count: 1 }, [day], "evt_1"), { amount: 1_000, count: 1 });
 * pending.remove("evt_1", reservation);
 * deepEqual(pending.plus({ amount: 1_000, count: 1 }, [day]), { amount: 1_000, count: 1 });
 * ```
 */
export class PendingReservations {
  /** Counter key → what is pending there in all, and by the answer's event id. */
  readonly #byKey = new Map<
    string,
    { amount: number; count: number; byEvent: Map<string, { amount: number; count: number }> }
  >();

  /** Whether any is pending: with none, reading costs nothing. */
  get empty(): boolean {
    return this.#byKey.size === 0;
  }

  /** Counts `reservation`, of the answer to event `eventId`, on each of its keys. */
  add(eventId: string, reservation: Reservation): void {
    this.#move(eventId, reservation, 1);
  }

  /** Stops counting `reservation` (committed, or given up on). */
  remove(eventId: string, reservation: Reservation): void {
    this.#move(eventId, reservation, -1);
  }

  /** `usage` read from the store plus what is pending on `buckets`, but for event `except`'s. */
  plus(usage: Usage, buckets: readonly Deno.KvKey[], except?: string): Usage {
    if (this.empty) return usage;
    let { amount, count } = usage;
    for (const key of buckets) {
      const pending = this.#byKey.get(keyId(key));
      if (!pending) continue;
      const own = except === undefined ? undefined : pending.byEvent.get(except);
      amount += pending.amount - (own?.amount ?? 0);
      count += pending.count - (own?.count ?? 0);
    }
    return { amount, count };
  }

  #move(eventId: string, { keys, amount, count }: Reservation, sign: 1 | -1): void {
    if (amount === 0 && count === 0) return;
    for (const id of new Set(keys.map(keyId))) {
      const pending = this.#byKey.get(id) ?? { amount: 0, count: 0, byEvent: new Map() };
      const own = pending.byEvent.get(eventId) ?? { amount: 0, count: 0 };
      own.amount += sign * amount;
      own.count += sign * count;
      pending.amount += sign * amount;
      pending.count += sign * count;
      if (own.amount === 0 && own.count === 0) pending.byEvent.delete(eventId);
      else pending.byEvent.set(eventId, own);
      if (pending.byEvent.size === 0) this.#byKey.delete(id);
      else this.#byKey.set(id, pending);
    }
  }
}
