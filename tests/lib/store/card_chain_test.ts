import type Stripe from "stripe";
import { Deadline } from "../../../lib/engine/deadline.ts";
import type { CounterRef } from "../../../lib/engine/velocity.ts";
import {
  chainGrowth,
  chainReaders,
  createCardChains,
  linkKeys,
  onChain,
} from "../../../lib/store/card_chain.ts";
import { createCommitEngine } from "../../../lib/store/commit_engine.ts";
import { assert, assertEquals } from "../../_assert.ts";

/** A card as an event carries it: `replacement_for` an id, an expanded card, or none. */
function card(id: string, replacementFor: string | Stripe.Issuing.Card | null = null) {
  return { id, replacement_for: replacementFor } as Stripe.Issuing.Card;
}

/** Stores `card`'s link to the card it replaces, as `issuing_card.created` does. */
async function link(kv: Deno.Kv, card: string, replaced: string) {
  await kv.set(linkKeys(card)[0], replaced);
}

Deno.test("createCardChains() answers a card that replaces none at once, without reading", async () => {
  using kv = await Deno.openKv(":memory:");
  await link(kv, "ic_plain", "ic_never_read");
  const chain = createCardChains(kv).of(card("ic_plain"));
  assert(!(chain instanceof Promise));
  assertEquals(chain, ["ic_plain"]);
});

Deno.test("createCardChains() follows what the event tells, then the stored links, to the chain's first card", async () => {
  using kv = await Deno.openKv(":memory:");
  await link(kv, "ic_2", "ic_1");
  await link(kv, "ic_1", "ic_0");
  assertEquals(await createCardChains(kv).of(card("ic_3", "ic_2")), [
    "ic_3",
    "ic_2",
    "ic_1",
    "ic_0",
  ]);
  // An expanded `replacement_for` tells its own links: nothing stored is needed for them.
  using empty = await Deno.openKv(":memory:");
  const expanded = card("ic_3", card("ic_2", "ic_1"));
  assertEquals(await createCardChains(empty).of(expanded), ["ic_3", "ic_2", "ic_1"]);
});

Deno.test("createCardChains() ends a chain at a link back into it, and at its hop bound", async () => {
  using kv = await Deno.openKv(":memory:");
  await link(kv, "ic_loop_1", "ic_loop_2");
  await link(kv, "ic_loop_2", "ic_loop_1");
  assertEquals(await createCardChains(kv).of(card("ic_loop_2", "ic_loop_1")), [
    "ic_loop_2",
    "ic_loop_1",
  ]);
  for (let i = 1; i <= 30; i++) await link(kv, `ic_long_${i}`, `ic_long_${i - 1}`);
  const long = await createCardChains(kv).of(card("ic_long_30", "ic_long_29"));
  assertEquals(long.length, 17, "the card and the 16 links followed from it");
  assertEquals(long.at(-1), "ic_long_14");
});

Deno.test("createCardChains() keeps a resolved chain: a link stored later at its first card is what a commit checks", async () => {
  using kv = await Deno.openKv(":memory:");
  await link(kv, "ic_b", "ic_a");
  const chains = createCardChains(kv);
  const chain = await chains.of(card("ic_c", "ic_b"));
  assertEquals(chain, ["ic_c", "ic_b", "ic_a"]);
  await link(kv, "ic_a", "ic_first");
  // Kept: answered at once, as resolved.
  assertEquals(chains.of(card("ic_c", "ic_b")), chain);
  // The request's commit reads the first card's links, sees the chain grew, and reads it anew.
  const growth = chainGrowth(chain);
  const grew = await createCommitEngine(kv).submit({
    keys: [...growth.keys],
    mutations: 0,
    bytes: 64,
    deadline: Deadline.after(1_000),
    run: (view) => ({ done: growth.grew(view) }),
  });
  assertEquals(grew, true);
  assertEquals(await chains.resolve("ic_c", chain), ["ic_c", "ic_b", "ic_a", "ic_first"]);
  assertEquals(chainGrowth(["ic_plain"]).keys, [], "a card that replaces none checks nothing");
});

Deno.test("createCardChains() follows a link an earlier version stored, and reads such a chain anew each time", async () => {
  using kv = await Deno.openKv(":memory:");
  await kv.set(linkKeys("ic_old_2")[1], "ic_old_0");
  const chains = createCardChains(kv);
  assertEquals(await chains.of(card("ic_old_3", "ic_old_2")), ["ic_old_3", "ic_old_2", "ic_old_0"]);
  // Its own link, once stored, names the card the legacy one skipped.
  await link(kv, "ic_old_2", "ic_old_1");
  await link(kv, "ic_old_1", "ic_old_0");
  assertEquals(await chains.of(card("ic_old_3", "ic_old_2")), [
    "ic_old_3",
    "ic_old_2",
    "ic_old_1",
    "ic_old_0",
  ]);
});

Deno.test("onChain() names a card's own and per-merchant counters after its chain's first card, and no other", () => {
  const counter = (scope: string, scopeId: string): CounterRef => ({
    current: ["usage", scope, scopeId, "daily", "*", "usd", 1],
    buckets: [["usage", scope, scopeId, "daily", "*", "usd", 1]],
  });
  const renamed = onChain(
    [counter("card", "ic_new"), counter("card", "ic_new@mid_1"), counter("cardholder", "ich_1")],
    "ic_new",
    ["ic_new", "ic_root"],
  );
  assertEquals(renamed.map((c) => c.current[2]), ["ic_root", "ic_root@mid_1", "ich_1"]);
  assertEquals(renamed.map((c) => c.buckets[0][2]), ["ic_root", "ic_root@mid_1", "ich_1"]);
  const alone = [counter("card", "ic_alone")];
  assertEquals(onChain(alone, "ic_alone", ["ic_alone"]), alone);
});

Deno.test("chainReaders() keeps a chain within a commit's checks: its nearest cards and its first", () => {
  const chain = ["ic_9", "ic_8", "ic_7", "ic_6", "ic_5", "ic_4", "ic_3", "ic_2", "ic_1"] as const;
  const few: CounterRef[] = [{ current: ["usage", "card", "ic_9", 1], buckets: [["usage", 1]] }];
  assertEquals(chainReaders(chain, few), chain);
  // 30 buckets a card: 99 checks hold three cards' worth.
  const buckets = Array.from({ length: 30 }, (_, i) => ["usage", "card", "ic_9", i]);
  const many: CounterRef[] = [{ current: buckets[0], buckets }];
  assertEquals(chainReaders(chain, many), ["ic_9", "ic_8", "ic_1"]);
});
