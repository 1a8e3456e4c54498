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
