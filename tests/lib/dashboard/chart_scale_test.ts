import { linearScale, timeTicks } from "../../../lib/dashboard/chart_scale.ts";
import { assert, assertEquals, assertThrows } from "../../_assert.ts";

const NOON = Date.parse("2026-11-25T12:00:00Z");
const MINUTE = 60_000, HOUR = 3_600_000, DAY = 86_400_000;

Deno.test("linearScale() rounds the domain up to 1, 2, 2.5 or 5 × 10ⁿ ticks", () => {
  const cases: [number, number[]][] = [
    [1, [0, 0.25, 0.5, 0.75, 1]],
    [3, [0, 1, 2, 3]],
    [7, [0, 2, 4, 6, 8]],
    [87, [0, 25, 50, 75, 100]],
    [100, [0, 25, 50, 75, 100]],
    [1_234, [0, 500, 1_000, 1_500]],
    [0.37, [0, 0.1, 0.2, 0.3, 0.4]],
  ];
  for (const [max, ticks] of cases) assertEquals(linearScale(max, [100, 0]).ticks, ticks, `${max}`);
});

Deno.test("linearScale() maps 0 to the bottom and its max to the top", () => {
  const y = linearScale(87, [200, 10]);
  assertEquals([y(0), y(y.max)], [200, 10]);
  assert(y(87) > 10 && y(87) < 200);
});

Deno.test("linearScale() refuses negative, infinite and NaN maxima and bad tick counts", () => {
  for (const max of [-1, Infinity, NaN]) assertThrows(() => linearScale(max, [1, 0]), RangeError);
  assertThrows(() => linearScale(1, [1, 0], 0), RangeError);
});

Deno.test("timeTicks() picks round UTC steps for a minute, an hour, a day and a week", () => {
  assertEquals(timeTicks(NOON, NOON + MINUTE, 8).map((t) => t.label), ["12:00"]);
  assertEquals(timeTicks(NOON + 3 * MINUTE, NOON + HOUR + 3 * MINUTE, 8).map((t) => t.label), [
    "12:10",
    "12:20",
    "12:30",
    "12:40",
    "12:50",
    "13:00",
  ]);
  assertEquals(timeTicks(NOON, NOON + DAY, 8).map((t) => t.label), [
    "12:00",
    "15:00",
    "18:00",
    "21:00",
    "00:00",
    "03:00",
    "06:00",
    "09:00",
  ]);
  assertEquals(timeTicks(NOON, NOON + 7 * DAY, 8).map((t) => t.label), [
    "11-26",
    "11-27",
    "11-28",
    "11-29",
    "11-30",
    "12-01",
    "12-02",
  ]);
});

Deno.test("timeTicks() refuses an empty range and more days than ticks", () => {
  assertThrows(() => timeTicks(NOON, NOON, 8), RangeError);
  assertThrows(() => timeTicks(NOON, NOON + 30 * DAY, 8), RangeError, "at most 8 days");
  assertThrows(() => timeTicks(NOON, NOON + DAY, 1), RangeError);
});
