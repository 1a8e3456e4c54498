import { checkWindow, counterRef, type CounterSpec } from "../../../lib/engine/velocity.ts";
import { assertEquals, assertThrows } from "../../_assert.ts";

const spec = (window: CounterSpec["window"]): CounterSpec => ({
  scope: "card",
  scopeId: "ic_1",
  window,
  currency: "usd",
  categories: "*",
});

Deno.test("counterRef() aligns calendar windows to UTC, weeks starting Sunday", () => {
  const now = new Date("2026-11-25T23:59:59Z"); // a Wednesday
  const start = (window: CounterSpec["window"]) => counterRef(spec(window), now).current.at(-1);
  assertEquals(start("daily"), "2026-11-25");
  assertEquals(start("weekly"), "2026-11-22");
  assertEquals(start("monthly"), "2026-11-01");
  assertEquals(start("yearly"), "2026-01-01");
  assertEquals(start("all_time"), "all");
  assertEquals(
    counterRef(spec("daily"), new Date("2026-11-26T00:00:00Z")).current.at(-1),
    "2026-11-26",
  );
});

Deno.test("counterRef() keeps a rolling window in at most 10 buckets", () => {
  const now = new Date("2026-11-25T12:00:30Z");
  const ten = counterRef(spec({ rollingMinutes: 10 }), now);
  assertEquals(ten.buckets.length, 10);
  assertEquals(ten.current, ten.buckets[0]);
  const newest = Math.floor(now.getTime() / 60_000);
  assertEquals(
    ten.buckets.map((key) => key.at(-1)),
    Array.from({ length: 10 }, (_, i) => newest - i),
  );
  assertEquals(counterRef(spec({ rollingMinutes: 60 }), now).buckets.length, 10);
  assertEquals(counterRef(spec({ rollingMinutes: 3 }), now).buckets.length, 3);
});

Deno.test("counterRef() counts in a rolling window of N minutes what is at most N minutes old, and all of what is less than N minus one bucket", () => {
  const now = new Date("2026-11-25T11:59:59.500Z");
  for (const minutes of [1, 3, 7, 10, 15, 17, 45, 60, 90, 1_441]) {
    const window = { rollingMinutes: minutes };
    const counted = new Set(counterRef(spec(window), now).buckets.map((key) => String(key.at(-1))));
    // An approval `agoMs` before now was reserved into that time's current bucket.
    const countsAt = (agoMs: number) =>
      counted.has(String(counterRef(spec(window), new Date(now.getTime() - agoMs)).current.at(-1)));
    const windowMs = minutes * 60_000;
    const bucketMs = windowMs / Math.min(minutes, 10);
    for (let agoMs = 0; agoMs <= windowMs + 2 * bucketMs; agoMs += 500) {
      if (agoMs > windowMs) assertEquals(countsAt(agoMs), false, `${minutes} min: ${agoMs} ms ago`);
      if (agoMs < windowMs - bucketMs) {
        assertEquals(countsAt(agoMs), true, `${minutes} min: ${agoMs} ms ago`);
      }
    }
  }
});

Deno.test("checkWindow() refuses unknown windows at start-up", () => {
  assertThrows(
    () => checkWindow("hourly" as never, "spendLimit"),
    RangeError,
    '"window" must be daily',
  );
  assertThrows(
    () => checkWindow({ rollingMinutes: 0 }, "spendLimit"),
    RangeError,
    "rollingMinutes",
  );
});
