/**
 * Velocity counters: which KV keys hold a card's (or cardholder's) spend and
 * approval count in a time window.
 *
 * @module
 */

/** Stripe's spending-limit intervals, aligned to UTC. */
export type CalendarWindow = "daily" | "weekly" | "monthly" | "yearly" | "all_time";

/** A calendar window, or a rolling one such as the last 10 minutes. */
export type VelocityWindow = CalendarWindow | { readonly rollingMinutes: number };

/** Whose spending a counter follows. */
export type VelocityScope = "card" | "cardholder";

/** What a counter holds: approved amount (minor units) and number of approvals. */
export interface Usage {
  readonly amount: number;
  readonly count: number;
}

/** The zero usage. */
export const NO_USAGE: Usage = Object.freeze({ amount: 0, count: 0 });

/**
 * One counter as a policy sees it: the bucket keys whose sum is the usage in
 * the window now, and the bucket an approval now is added to.
 */
export interface CounterRef {
  /** Summed to get the usage: one key for a calendar window, up to 10 for a rolling one. */
  readonly buckets: readonly Deno.KvKey[];
  /** Where an approval is reserved (the newest bucket). */
  readonly current: Deno.KvKey;
  /** How long the current bucket must live, in ms (`undefined`: forever). */
  readonly expireInMs?: number;
}

/** Reads a counter's usage. The engine provides it from KV (or zeros, with no store). */
export type UsageReader = (counter: CounterRef) => Usage;

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
/** Rolling windows are summed over at most this many buckets (one `getMany`). */
const ROLLING_BUCKETS = 10;

/** What identifies a counter besides time: scope, whose, currency and an optional category filter. */
export interface CounterSpec {
  readonly scope: VelocityScope;
  readonly scopeId: string;
  readonly window: VelocityWindow;
  /** A currency for amounts, `*` for counts across currencies. */
  readonly currency: string;
  /** A stable name of the category filter, `*` for all categories. */
  readonly categories: string;
}

/**
 * The counter for `spec` at time `now`. Calendar windows start at 00:00 UTC
 * (weeks on Sunday, as Stripe's `weekly` interval); a rolling window of N
 * minutes is kept in min(N, 10) buckets that tile it exactly (a minute each up
 * to 10 minutes, else a tenth of N), so its oldest bucket leaves whole: the
 * window covers between N minus one bucket and N.
 *
 * @example
 * ```ts
 * import { counterRef } from "./velocity.ts";
 * import { deepEqual } from "node:assert/strict";
 * const ref = counterRef(
 *   { scope: "card", scopeId: "ic_123", window: "daily", currency: "usd", categories: "*" },
 *   new Date("2026-11-25T15:00:00Z"),
 * );
 * deepEqual(ref.current, ["usage", "card", "ic_123", "daily", "*", "usd", "2026-11-25"]);
 * ```
 */
export function counterRef(spec: CounterSpec, now: Date): CounterRef {
  const prefix = [
    "usage",
    spec.scope,
    spec.scopeId,
    windowName(spec.window),
    spec.categories,
    spec.currency,
  ];
  if (typeof spec.window === "object") {
    const count = Math.min(spec.window.rollingMinutes, ROLLING_BUCKETS);
    // Whole milliseconds (N minutes are 60,000 N ms): whole minutes would not tile 15 minutes in
    // 10 buckets, and rounded up they reached past the window (8 buckets of 2 minutes).
    const bucketMs = (spec.window.rollingMinutes * MINUTE_MS) / count;
    const newest = Math.floor(now.getTime() / bucketMs);
    const buckets = Array.from({ length: count }, (_, i) => [...prefix, newest - i]);
    return { buckets, current: buckets[0], expireInMs: (count + 1) * bucketMs };
  }
  const [start, lengthMs] = calendarWindow(spec.window, now);
  const current = [...prefix, start];
  return { buckets: [current], current, expireInMs: lengthMs ? lengthMs + DAY_MS : undefined };
}

/**
 * A window's name in keys and reasons: `daily`, …, or `rolling_10m`.
 *
 * @example
 * ```ts
 * import { windowName } from "./velocity.ts";
 * import { equal } from "node:assert/strict";
 * equal(windowName({ rollingMinutes: 10 }), "rolling_10m");
 * ```
 */
export function windowName(window: VelocityWindow): string {
  return typeof window === "object" ? `rolling_${window.rollingMinutes}m` : window;
}

/**
 * Checks a window at start-up; throws a `RangeError` naming `owner`.
 *
 * @example
 * ```ts
 * import { checkWindow } from "./velocity.ts";
 * import { throws } from "node:assert/strict";
 * checkWindow({ rollingMinutes: 10 }, "spendLimit");
 * throws(() => checkWindow({ rollingMinutes: 0 }, "spendLimit"), RangeError);
 * ```
 */
export function checkWindow(window: VelocityWindow, owner: string): void {
  if (typeof window === "object") {
    const minutes = window?.rollingMinutes;
    if (Number.isInteger(minutes) && minutes >= 1 && minutes <= 527_040) return;
    throw new RangeError(
      `Cannot create ${owner}: "rollingMinutes" must be an integer from 1 to 527040 (a year), got ${minutes}`,
    );
  }
  if (!["daily", "weekly", "monthly", "yearly", "all_time"].includes(window)) {
    throw new RangeError(
      `Cannot create ${owner}: "window" must be daily, weekly, monthly, yearly, all_time or { rollingMinutes }, got ${
        JSON.stringify(window)
      }`,
    );
  }
}

/** The window's start as an ISO date, and its length in ms (0 for all_time). */
function calendarWindow(window: CalendarWindow, now: Date): [string, number] {
  const y = now.getUTCFullYear(), m = now.getUTCMonth(), d = now.getUTCDate();
  switch (window) {
    case "daily":
      return [isoDate(Date.UTC(y, m, d)), DAY_MS];
    case "weekly":
      return [isoDate(Date.UTC(y, m, d - now.getUTCDay())), 7 * DAY_MS];
    case "monthly":
      return [isoDate(Date.UTC(y, m, 1)), 31 * DAY_MS];
    case "yearly":
      return [isoDate(Date.UTC(y, 0, 1)), 366 * DAY_MS];
    case "all_time":
      return ["all", 0];
  }
}

/** Window starts already formatted: every request of a day names the same few (one per window). */
const isoDates = new Map<number, string>();
const MAX_ISO_DATES = 64;

function isoDate(ms: number): string {
  let date = isoDates.get(ms);
  if (date === undefined) {
    if (isoDates.size >= MAX_ISO_DATES) isoDates.clear();
    date = new Date(ms).toISOString().slice(0, 10);
    isoDates.set(ms, date);
  }
  return date;
}
