/**
 * Scales and axis ticks for the dashboard's server-rendered SVG charts: a
 * linear value scale with round ticks, and UTC time ticks.
 *
 * @module
 */

/** A linear scale from `[0, max]` onto pixels, with round tick values. */
export interface LinearScale {
  /** The pixel position of a value. */
  (value: number): number;
  /** The top of the domain: the data's maximum rounded up to a tick. */
  readonly max: number;
  /** Tick values from 0 to {@linkcode LinearScale.max}, evenly spaced. */
  readonly ticks: readonly number[];
}

const TICK_STEPS = [1, 2, 2.5, 5, 10] as const;

/**
 * A scale from `[0, dataMax]` onto `[bottom, top]` pixels (top is smaller in
 * SVG), its domain rounded up so that at most `maxTicks` intervals of 1, 2,
 * 2.5 or 5 × 10ⁿ cover it. An all-zero series still gets the domain `[0, 1]`.
 * Throws a `RangeError` for a negative or non-finite `dataMax`, or `maxTicks`
 * below 1.
 *
 * @example
 * ```ts
 * import { linearScale } from "./chart_scale.ts";
 * import { deepEqual, equal, throws } from "node:assert/strict";
 * const y = linearScale(87, [200, 0]);
 * deepEqual(y.ticks, [0, 25, 50, 75, 100]);
 * equal(y(50), 100);
 * deepEqual(linearScale(0, [100, 0]).ticks, [0, 0.25, 0.5, 0.75, 1]);
 * throws(() => linearScale(-1, [100, 0]), RangeError);
 * ```
 */
export function linearScale(
  dataMax: number,
  [bottom, top]: readonly [number, number],
  maxTicks = 4,
): LinearScale {
  if (!Number.isFinite(dataMax) || dataMax < 0) {
    throw new RangeError(`dataMax must be a finite number of at least 0, got ${dataMax}`);
  }
  if (!Number.isInteger(maxTicks) || maxTicks < 1) {
    throw new RangeError(`maxTicks must be a positive integer, got ${maxTicks}`);
  }
  const target = dataMax === 0 ? 1 : dataMax;
  const magnitude = 10 ** Math.floor(Math.log10(target / maxTicks));
  const step = TICK_STEPS.map((s) => s * magnitude).find((s) => s * maxTicks >= target)!;
  const intervals = Math.ceil(target / step - 1e-9);
  const max = step * intervals;
  const ticks = Array.from({ length: intervals + 1 }, (_, i) => round(i * step));
  const scale = (value: number) => bottom + (top - bottom) * (value / max);
  return Object.assign(scale, { max, ticks });
}

/** One labelled tick of a time axis. */
export interface TimeTick {
  /** Epoch ms. */
  readonly at: number;
  /** `HH:MM` within a day, `MM-DD` for day ticks, in UTC. */
  readonly label: string;
}

const MINUTE_MS = 60_000;
const TIME_STEPS_MS = [
  5,
  10,
  15,
  30,
  60,
  120,
  180,
  360,
  720,
  1_440,
].map((minutes) => minutes * MINUTE_MS);

/**
 * Ticks for a UTC time axis from `startMs` to `endMs`: the smallest round
 * step (5 minutes … 1 day) giving at most `maxTicks` ticks, labelled `HH:MM`,
 * or `MM-DD` when the step is a day. Throws a `RangeError` when the range is
 * empty or longer than `maxTicks` days.
 *
 * @example
 * ```ts
 * import { timeTicks } from "./chart_scale.ts";
 * import { deepEqual, throws } from "node:assert/strict";
 * const start = Date.parse("2026-11-25T12:00:00Z");
 * deepEqual(timeTicks(start, start + 3_600_000, 6).map((tick) => tick.label),
 *   ["12:00", "12:10", "12:20", "12:30", "12:40", "12:50"]);
 * deepEqual(timeTicks(start, start + 7 * 86_400_000, 8).map((tick) => tick.label),
 *   ["11-26", "11-27", "11-28", "11-29", "11-30", "12-01", "12-02"]);
 * throws(() => timeTicks(start, start, 6), RangeError);
 * ```
 */
export function timeTicks(startMs: number, endMs: number, maxTicks: number): TimeTick[] {
  if (!(endMs > startMs)) throw new RangeError("the time range must end after it starts");
  if (!Number.isInteger(maxTicks) || maxTicks < 2) {
    throw new RangeError(`maxTicks must be an integer of at least 2, got ${maxTicks}`);
  }
  const step = TIME_STEPS_MS.find((s) => (endMs - startMs) / s <= maxTicks);
  if (step === undefined) {
    throw new RangeError(`a time axis spans at most ${maxTicks} days, got ${endMs - startMs} ms`);
  }
  const ticks: TimeTick[] = [];
  for (let at = Math.ceil(startMs / step) * step; at < endMs; at += step) {
    const iso = new Date(at).toISOString();
    ticks.push({ at, label: step >= 1_440 * MINUTE_MS ? iso.slice(5, 10) : iso.slice(11, 16) });
  }
  return ticks;
}

function round(value: number): number {
  return Math.round(value * 1e9) / 1e9;
}
