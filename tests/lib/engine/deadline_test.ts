import { Deadline, TIMED_OUT } from "../../../lib/engine/deadline.ts";
import { assert, assertEquals, assertThrows } from "../../_assert.ts";

const never = () => new Promise<never>(() => {});
const after = <T>(ms: number, value: T) =>
  new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

Deno.test("races on one shared timer: each expires at its own deadline, in any order of arrival", async () => {
  const started = performance.now();
  const deadlines = [60, 20, 100, 40, 80];
  const expiredAt = await Promise.all(
    deadlines.map(async (ms) => {
      assertEquals(await Deadline.after(ms).race(never()), TIMED_OUT);
      return performance.now() - started;
    }),
  );
  deadlines.forEach((ms, i) => {
    assert(expiredAt[i] >= ms - 1, `the ${ms} ms race expired early, at ${expiredAt[i]} ms`);
  });
  const order = deadlines.map((_, i) => i).sort((a, b) => expiredAt[a] - expiredAt[b]);
  assertEquals(order.map((i) => deadlines[i]), [20, 40, 60, 80, 100]);
});

Deno.test("a race that settles first leaves the others' deadlines intact", async () => {
  // The soonest waiter settles and leaves the heap; the timer armed for it must still expire the rest.
  const results = await Promise.all([
    Deadline.after(30).race(after(5, "fast")),
    Deadline.after(60).race(never()),
    Deadline.after(1_000).race(after(90, "slow but in time")),
    Deadline.after(15).race(Promise.reject(new Error("failed")).catch(() => "rejected")),
  ]);
  assertEquals(results, ["fast", TIMED_OUT, "slow but in time", "rejected"]);
});

Deno.test("a deadline already passed still lets a settled promise win", async () => {
  assertEquals(await new Deadline(performance.now() - 10).race(Promise.resolve("done")), "done");
  assertEquals(await new Deadline(performance.now() - 10).race(never()), TIMED_OUT);
});

Deno.test("many races settling out of order keep the heap consistent", async () => {
  const count = 200;
  const settles = Array.from({ length: count }, (_, i) => (i * 37) % 50);
  const results = await Promise.all(
    settles.map((ms, i) => Deadline.after(i % 2 === 0 ? 25 : 200).race(after(ms, i))),
  );
  results.forEach((result, i) => {
    const expected = i % 2 === 0 && settles[i] > 25 ? TIMED_OUT : i;
    // Timers of equal delay may be a millisecond apart: only clear-cut cases are asserted.
    if (Math.abs(settles[i] - 25) > 3 || i % 2 === 1) assertEquals(result, expected, `race ${i}`);
  });
});

Deno.test("a deadline is finite, and one weeks away does not fire early", async () => {
  assertThrows(() => new Deadline(NaN), RangeError);
  assertThrows(() => Deadline.after(Infinity), RangeError);
  // Past a timer's 2^31 - 1 ms: armed for the most a timer takes, it must not fire at once.
  let settled = false;
  const far = Deadline.after(40 * 86_400_000).race(
    new Promise<void>((resolve) =>
      setTimeout(() => {
        settled = true;
        resolve();
      }, 30)
    ),
  );
  assertEquals(await far, undefined);
  assert(settled);
});
