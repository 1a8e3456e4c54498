import { Deadline } from "../../../lib/engine/deadline.ts";
import type { Usage } from "../../../lib/engine/velocity.ts";
import { type BatchView, createCommitEngine } from "../../../lib/store/commit_engine.ts";
import { addToCounters, counterKeys, sumUsage } from "../../../lib/store/counters.ts";
import { assertEquals } from "../../_assert.ts";

/** Runs `move` in a commit over `keys` and resolves with their stored values afterwards. */
async function moved(kv: Deno.Kv, keys: Deno.KvKey[], move: (view: BatchView) => void) {
  await createCommitEngine(kv).submit({
    keys,
    mutations: 0,
    bytes: 256,
    deadline: Deadline.after(1_000),
    run(view) {
      move(view);
      return { done: undefined };
    },
  });
  return (await kv.getMany<Usage[]>(keys)).map((entry) => entry.value);
}

const DAY = ["usage", "card", "ic_1", "daily", "*", "usd", 20_000];
const WEEK = ["usage", "card", "ic_1", "weekly", "*", "usd", 2_857];

Deno.test("addToCounters() adds a reservation to each of its counters, and moves a replaced one by the difference", async () => {
  using kv = await Deno.openKv(":memory:");
  await kv.set(DAY, { amount: 1_000, count: 1 });
  const keys = [DAY, WEEK];
  assertEquals(
    await moved(kv, keys, (view) => addToCounters(view, { keys, amount: 500, count: 1 })),
    [{ amount: 1_500, count: 2 }, { amount: 500, count: 1 }],
  );
  // The same request's reservation replaced (a fallback superseding it): the difference moves.
  const before = { keys, amount: 500, count: 1 };
  assertEquals(
    await moved(kv, keys, (view) => addToCounters(view, { keys, amount: 0, count: 0 }, before)),
    [{ amount: 1_000, count: 1 }, { amount: 0, count: 0 }],
  );
});

Deno.test("addToCounters() never takes a counter below zero", async () => {
  using kv = await Deno.openKv(":memory:");
  await kv.set(DAY, { amount: 300, count: 1 });
  const release = { keys: [DAY], amount: 0, count: 0 };
  const held = { keys: [DAY], amount: 2_000, count: 3 };
  assertEquals(await moved(kv, [DAY], (view) => addToCounters(view, release, held)), [
    { amount: 0, count: 0 },
  ]);
});

Deno.test("addToCounters() gives back what was held under other keys (the chain grew) where the job reads them", async () => {
  using kv = await Deno.openKv(":memory:");
  const old = ["usage", "card", "ic_old_root", "daily", "*", "usd", 20_000];
  await kv.set(old, { amount: 700, count: 1 });
  const before = { keys: [old], amount: 700, count: 1 };
  const now = { keys: [DAY], amount: 700, count: 1 };
  assertEquals(await moved(kv, [old, DAY], (view) => addToCounters(view, now, before)), [
    { amount: 0, count: 0 },
    { amount: 700, count: 1 },
  ]);
  // Keys the job does not read are left as they are: counted against the chain, never for it.
  await kv.set(old, { amount: 700, count: 1 });
  await kv.delete(DAY);
  await moved(kv, [DAY], (view) => addToCounters(view, now, before));
  assertEquals((await kv.get(old)).value, { amount: 700, count: 1 });
  assertEquals((await kv.get(DAY)).value, { amount: 700, count: 1 });
});

Deno.test("counterKeys() reserves into each counter's newest bucket once, with that counter's expiry", () => {
  const daily = { current: DAY, buckets: [DAY], expireInMs: 172_800_000 };
  const weekly = { current: WEEK, buckets: [WEEK] };
  assertEquals(counterKeys([daily, weekly, daily]), {
    keys: [DAY, WEEK],
    expireInMs: [172_800_000, null],
  });
});

Deno.test("sumUsage() sums what was read, an absent counter as zero", () => {
  assertEquals(sumUsage([{ amount: 100, count: 1 }, null, { amount: 50, count: 2 }]), {
    amount: 150,
    count: 3,
  });
});
