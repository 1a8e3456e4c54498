import { closedSet } from "../lib/engine/closed_set.ts";
import { abstain, decline, type Policy, withConfig } from "../lib/engine/policy.ts";
import { REASON_CODES } from "./reason_codes.ts";

/** Days of the week, as in {@linkcode AllowTimesOptions.days}. */
export const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;

/** One of {@linkcode WEEKDAYS}. */
export type Weekday = typeof WEEKDAYS[number];

/** Options of {@linkcode allowTimes}. */
export interface AllowTimesOptions {
  /** IANA time zone the window is in, e.g. `America/New_York`. */
  readonly timeZone: string;
  /**
   * Days on which requests are allowed, by the local date; every day when
   * omitted. A window that wraps past midnight belongs to the day it starts
   * on: with `fri` and `22:00`–`06:00`, Saturday 03:00 is Friday's night.
   */
  readonly days?: readonly Weekday[];
  /** Local time from which requests are allowed, `HH:MM` (24 h). Default `00:00`. */
  readonly from?: string;
  /**
   * Local time until which requests are allowed, exclusive, `HH:MM`. Default
   * `24:00`. Earlier than `from` wraps past midnight: `22:00`–`06:00` is the night.
   */
  readonly to?: string;
}

const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;

/**
 * Declines `outside_allowed_times:<day> <HH:MM> <time zone>` for requests
 * arriving outside a weekly window in a given time zone, e.g. business hours
 * for corporate cards. The time is the request's arrival (`context.now`),
 * never the policy's own clock.
 *
 * @example
 * ```ts
 * import { allowTimes } from "./allow_times.ts";
 * import { authorizationEvent, authorizationOf } from "../fixtures/events.ts";
 * import { deepEqual } from "node:assert/strict";
 * const policy = allowTimes({ timeZone: "America/New_York", days: ["mon", "tue", "wed", "thu", "fri"], from: "08:00", to: "19:00" });
 * const at = (iso: string) => ({ now: new Date(iso), signal: AbortSignal.abort(), usage: () => ({ amount: 0, count: 0 }), held: { amount: 0, requests: 0 } });
 * const request = authorizationOf(authorizationEvent());
 * deepEqual(policy(request, at("2026-11-25T15:00:00Z")), { outcome: "abstain" }); // Wednesday 10:00 in New York
 * deepEqual(policy(request, at("2026-11-29T15:00:00Z")), {
 *   outcome: "decline", code: "outside_allowed_times", detail: "sun 10:00 America/New_York",
 * });
 * ```
 */
export function allowTimes(options: AllowTimesOptions): Policy {
  const { timeZone } = options ?? {};
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      weekday: "short",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    });
  } catch {
    throw new RangeError(
      `Cannot create allowTimes: "timeZone" must be an IANA time zone such as "Europe/Paris", got ${
        JSON.stringify(timeZone)
      }`,
    );
  }
  if (typeof timeZone !== "string") {
    throw new TypeError(`Cannot create allowTimes: "timeZone" is required`);
  }
  const days = options.days === undefined
    ? new Set(WEEKDAYS)
    : closedSet(options.days, WEEKDAYS, "allowTimes", "days");
  if (days.size === 0) throw new RangeError(`Cannot create allowTimes: "days" is empty`);
  const from = minutesOf(options.from ?? "00:00", "from");
  const to = options.to === undefined || options.to === "24:00"
    ? 24 * 60
    : minutesOf(options.to, "to");
  if (from === to) {
    throw new RangeError(`Cannot create allowTimes: "from" and "to" are equal, nothing would pass`);
  }
  const wraps = to < from;
  /** The day (0 is Sunday) whose window a local minute of `day` is in, or -1 when none. */
  function windowDay(day: number, minute: number): number {
    if (!wraps) return minute >= from && minute < to ? day : -1;
    if (minute >= from) return day;
    // After midnight, a night belongs to the evening it started on.
    return minute < to ? (day + 6) % 7 : -1;
  }
  // Formatting a date costs microseconds: it is done once per local minute, not per request.
  // The local minute is found from the local second, not the UTC minute: some offsets in the
  // time zone database have seconds (Africa/Monrovia was −0:44:30 until 1972).
  let minuteFrom = NaN, minuteUntil = NaN, weekday = "", weekdayIndex = -1, hour = 0, minute = 0;
  return withConfig(function allowTimes(_authorization, { now }) {
    const at = now.getTime();
    if (!(at >= minuteFrom && at < minuteUntil)) {
      let second = 0;
      for (const part of format.formatToParts(now)) {
        if (part.type === "weekday") weekday = part.value.toLowerCase();
        else if (part.type === "hour") hour = Number(part.value);
        else if (part.type === "minute") minute = Number(part.value);
        else if (part.type === "second") second = Number(part.value);
      }
      weekdayIndex = WEEKDAYS.indexOf(weekday as Weekday);
      minuteFrom = at - second * 1_000 - (((at % 1_000) + 1_000) % 1_000);
      minuteUntil = minuteFrom + 60_000;
    }
    const day = windowDay(weekdayIndex, hour * 60 + minute);
    if (day >= 0 && days.has(WEEKDAYS[day])) return abstain();
    const clock = `${String(hour).padStart(2, "0")}:${String(minute).padStart(2, "0")}`;
    return decline(REASON_CODES.outsideAllowedTimes, `${weekday} ${clock} ${timeZone}`);
  }, options);
}

function minutesOf(time: string, name: string): number {
  const match = typeof time === "string" ? TIME.exec(time) : null;
  if (!match) {
    throw new RangeError(
      `Cannot create allowTimes: "${name}" must be a time HH:MM from 00:00 to 23:59, got ${
        JSON.stringify(time)
      }`,
    );
  }
  return Number(match[1]) * 60 + Number(match[2]);
}
