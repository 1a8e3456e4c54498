/**
 * Card replacement chains: a card's counters are named after the first card
 * of its `replacement_for` chain, as Stripe's spending limits apply across
 * the chain (Cards.d.ts), and read under every card of the chain as known: a
 * card that was a chain's first while the chain was known only in part holds
 * what was spent meanwhile. Links: `["card_replaces", cardId]` → the card it
 * replaces; `["card_root", cardId]` (written before those) → its chain's
 * first card as then known, still followed.
 *
 * @module
 */
import type Stripe from "stripe";
import type { AuthorizationRequest } from "../engine/policy.ts";
import type { CounterRef } from "../engine/velocity.ts";
import { type BatchView, KV_LIMITS, uniqueKeys } from "./commit_engine.ts";

/** Card ids resolved to their replacement chain, kept at most. */
const MAX_CARD_CHAINS = 10_000;
/** Links followed from a card to its chain's first (a card replaced this many times is not real). */
const MAX_CHAIN_HOPS = 16;

/**
 * A card's replacement chain as known: the card first, then each card it
 * continues, the chain's first card (whose name its counters take) last.
 */
export type CardChain = readonly [string, ...string[]];

/** The replacement chains this process resolved, read through KV where it must. */
export interface CardChains {
  /**
   * `card`'s replacement chain: what its event tells (`replacement_for`, an id
   * or expanded), then the stored links from there. Synchronous for a card
   * that replaces none, and for one this process resolved before (unless
   * through a link an earlier version stored, read anew each time). A card
   * that is not expanded (a transaction's is an id, Transactions.d.ts) has no
   * `replacement_for` to tell: only what is stored says whose chain it is on.
   */
  of(card: AuthorizationRequest["card"]): CardChain | Promise<CardChain>;
  /** `chain` followed on through what is stored, and kept as `cardId`'s. */
  resolve(cardId: string, chain: CardChain): Promise<CardChain>;
  /**
   * `chain` followed on, without reading, through the chains this process
   * resolved: a link learned from a card's own request counts there even
   * while the store cannot commit it (and other processes cannot see it), for
   * what is decided without the store.
   */
  known(chain: CardChain): CardChain;
}

/**
 * Creates the resolver of card chains over an open `Deno.Kv`.
 *
 * @example
 * ```ts
 * import { createCardChains, linkKeys } from "./card_chain.ts";
 * import { deepEqual } from "node:assert/strict";
 * using kv = await Deno.openKv(":memory:");
 * await kv.set(linkKeys("ic_2")[0], "ic_1");
 * const chains = createCardChains(kv);
 * deepEqual(await chains.of({ id: "ic_3", replacement_for: "ic_2" } as never), ["ic_3", "ic_2", "ic_1"]);
 * ```
 */
export function createCardChains(kv: Deno.Kv): CardChains {
  /**
   * Chains resolved in this process, by card. A stored link never changes (a
   * card's `replacement_for` is fixed), so a chain grows only at its first
   * card, whose links each request's commit checks: nothing here expires.
   */
  const cardChains = new Map<string, CardChain>();

  function of(card: AuthorizationRequest["card"]): CardChain | Promise<CardChain> {
    if (card.replacement_for === null) return [card.id];
    const told = toldChain(card);
    // Links never change, so a chain resolved before that goes on from what the event tells is
    // right up to its first card, whose links a request's commit checks (see `chainGrowth`).
    const resolved = cardChains.get(card.id);
    if (resolved && told.every((id, i) => resolved[i] === id)) return resolved;
    return resolve(card.id, told);
  }

  async function resolve(cardId: string, chain: CardChain): Promise<CardChain> {
    const resolved = await extended(chain);
    // A link an earlier version stored names the chain's first card as then known, skipping cards
    // a `card_replaces` link, once stored, will name: such a chain is read anew each time.
    if (resolved.legacy) return resolved.chain;
    if (cardChains.size >= MAX_CARD_CHAINS) cardChains.clear();
    cardChains.set(cardId, resolved.chain);
    return resolved.chain;
  }

  /**
   * `chain` followed on through the stored links (written by a replacement's
   * requests and by `issuing_card.created`, which may arrive in any order),
   * every card on the way kept: while the chain was known only in part, each
   * may have been its first, and holds what was spent on the chain meanwhile.
   * `legacy`: a link an earlier version stored (`card_root`) was followed.
   */
  async function extended(chain: CardChain): Promise<{ chain: CardChain; legacy: boolean }> {
    const following = follow(chain);
    let legacy = false;
    // Past a chain's first card every link is known for good; the first card's is read.
    while (following.throughResolved()) {
      const [link, root] = await kv.getMany<[string, string]>(linkKeys(following.chain.at(-1)!));
      legacy ||= !link.value && !!root.value;
      if (!following.add([nextCard(link.value, root.value)])) break;
    }
    return { chain: following.chain, legacy };
  }

  function known(chain: CardChain): CardChain {
    const following = follow(chain);
    following.throughResolved();
    return following.chain;
  }

  /**
   * A chain being followed from `chain`: `add` appends cards, and
   * `throughResolved` goes on through the chains this process resolved; each
   * is false once the chain ends (at the bound, or at a link back into the
   * chain, which is not Stripe's: a card replaces an older one).
   */
  function follow(chain: CardChain) {
    const out: [string, ...string[]] = [chain[0]];
    let ended = false;
    const add = (ids: readonly (string | null)[]) => {
      for (const id of ids) {
        if (!id || out.includes(id) || out.length > MAX_CHAIN_HOPS) {
          ended = true;
          return false;
        }
        out.push(id);
      }
      return true;
    };
    if (chain.length > 1) add(chain.slice(1));
    return {
      chain: out as CardChain,
      add,
      throughResolved(): boolean {
        while (!ended && out.length <= MAX_CHAIN_HOPS) {
          const resolved = cardChains.get(out.at(-1)!);
          if (!resolved || resolved.length === 1) return true;
          add(resolved.slice(1));
        }
        return false;
      },
    };
  }

  return { of, resolve, known };
}

/**
 * `counters` with `cardId`'s per-card keys named after its chain's first card.
 *
 * @example
 * ```ts
 * import { onChain } from "./card_chain.ts";
 * import { deepEqual } from "node:assert/strict";
 * const counter = { current: ["usage", "card", "ic_2", "day"], buckets: [["usage", "card", "ic_2", "day"]] };
 * deepEqual(onChain([counter], "ic_2", ["ic_2", "ic_1"])[0].current, ["usage", "card", "ic_1", "day"]);
 * ```
 */
export function onChain(
  counters: CounterRef[],
  cardId: string,
  chain: CardChain,
): CounterRef[] {
  const root = chain.at(-1)!;
  if (root === cardId) return counters;
  const rename = (key: Deno.KvKey) => chainKey(key, cardId, root);
  return counters.map((counter) => ({
    ...counter,
    buckets: counter.buckets.map(rename),
    current: rename(counter.current),
  }));
}

/**
 * The links `card` tells, each a card and the card it replaces: its own, then
 * those of each expanded `replacement_for` within it.
 */
export function replacementLinks(card: Stripe.Issuing.Card): [string, string][] {
  const links: [string, string][] = [];
  let current: Stripe.Issuing.Card | undefined = card;
  while (current && links.length < MAX_CHAIN_HOPS) {
    const replaced: Stripe.Issuing.Card["replacement_for"] = current.replacement_for;
    const id = typeof replaced === "string" ? replaced : replaced?.id;
    if (!id || id === current.id) break;
    links.push([current.id, id]);
    current = typeof replaced === "object" ? replaced ?? undefined : undefined;
  }
  return links;
}

/**
 * What a card's event tells of its chain, without the store: the card, then
 * each card its `replacement_for` names (an id, or expanded).
 *
 * @example
 * ```ts
 * import { toldChain } from "./card_chain.ts";
 * import { deepEqual } from "node:assert/strict";
 * deepEqual(toldChain({ id: "ic_3", replacement_for: "ic_2" } as never), ["ic_3", "ic_2"]);
 * deepEqual(toldChain({ id: "ic_1", replacement_for: null } as never), ["ic_1"]);
 * ```
 */
export function toldChain(card: Stripe.Issuing.Card): CardChain {
  return [card.id, ...replacementLinks(card).map(([, replaced]) => replaced)];
}

/** {@linkcode chainGrowth} of a chain that cannot grow: an ordinary card's, made once. */
const NO_GROWTH: ChainGrowth = { keys: [], grew: () => false };

/** What tells that a chain grew (see {@linkcode chainGrowth}). */
export interface ChainGrowth {
  readonly keys: readonly Deno.KvKey[];
  grew(view: BatchView): boolean;
}

/**
 * What tells that `chain` grew: its first card's links (keys a request's
 * commit checks, so a link stored meanwhile, by any process, fails the commit
 * and the batch reads them again), and whether a view of them goes on.
 */
export function chainGrowth(
  chain: CardChain,
): ChainGrowth {
  // A card that replaces none has nothing to grow; a chain at the bound is followed no further.
  if (chain.length === 1 || chain.length > MAX_CHAIN_HOPS) return NO_GROWTH;
  const keys = linkKeys(chain.at(-1)!);
  return {
    keys,
    // As `extended` follows them, and not back into the chain.
    grew: (view) => {
      const next = nextCard(view.get<string>(keys[0]), view.get<string>(keys[1]));
      return !!next && !chain.includes(next);
    },
  };
}

/** A card's links: the card it replaces, and (stored by earlier versions) its chain's first then. */
export function linkKeys(card: string): [Deno.KvKey, Deno.KvKey] {
  return [["card_replaces", card], ["card_root", card]];
}

/** The card a chain goes on to from a card with these links: its own link, else the legacy one. */
function nextCard(link: string | null, legacy: string | null): string | null {
  return link ?? legacy;
}

/**
 * The cards of `chain` whose counters a request reads: all of them, unless a
 * chain too long for one commit's checks (KV's 100, less the `reserved` other
 * keys it reads: the authorization's state, and the counters its state holds
 * elsewhere) leaves only its first card and the cards nearest this one. Cards
 * deep in a chain hold spend only if the chain was learned in pieces.
 */
export function chainReaders(
  chain: CardChain,
  counters: readonly CounterRef[],
  reserved = 1,
): readonly string[] {
  if (chain.length === 1) return chain;
  const perCard = Math.max(1, uniqueKeys(counters.flatMap((counter) => counter.buckets)).length);
  const fit = Math.max(1, Math.floor((KV_LIMITS.checks - reserved) / perCard));
  return chain.length <= fit ? chain : [...chain.slice(0, fit - 1), chain.at(-1)!];
}

/**
 * Where a policy's counter buckets on `cardId` (named by it, or by its
 * chain's first card already) are read: under each of `readers` (see
 * {@linkcode chainReaders}: the chain's first card and as many others as a
 * commit's checks allow; the whole chain if not given), as each may have
 * been its first while the chain was known only in part, and an answer given
 * while the chain could not be read is counted under the first card its
 * event named. An ordinary
 * card's buckets are read as they are.
 *
 * @example
 * ```ts
 * import { chainBuckets } from "./card_chain.ts";
 * import { deepEqual } from "node:assert/strict";
 * const onChain = chainBuckets("ic_2", ["ic_2", "ic_1"]);
 * deepEqual(onChain([["usage", "card", "ic_2", "day"]]), [
 *   ["usage", "card", "ic_2", "day"],
 *   ["usage", "card", "ic_1", "day"],
 * ]);
 * ```
 */
export function chainBuckets(
  cardId: string,
  chain: CardChain,
  readers: readonly string[] = chain,
): (buckets: readonly Deno.KvKey[]) => readonly Deno.KvKey[] {
  const root = chain.at(-1)!;
  if (readers.length === 1) {
    return root === cardId
      ? (buckets) => buckets
      : (buckets) => buckets.map((key) => chainKey(key, cardId, root));
  }
  return (buckets) =>
    uniqueKeys(buckets.flatMap((key) => {
      const rooted = chainKey(key, cardId, root);
      return readers.map((card) => chainKey(rooted, root, card));
    }));
}

/**
 * A per-card counter key named after the first card of the card's
 * replacement chain, as Stripe applies a card's spending limits across the
 * cards it replaced (`Issuing.Card.replacement_for`); other keys unchanged.
 */
export function chainKey(key: Deno.KvKey, cardId: string, root: string): Deno.KvKey {
  if (root === cardId || key[0] !== "usage" || key[1] !== "card") return key;
  const [scope, scopeId] = [key[1], key[2]];
  // A per-merchant counter is named `<card>@<merchant network id>` (velocity_counter.ts).
  if (scopeId === cardId) return [key[0], scope, root, ...key.slice(3)];
  if (typeof scopeId === "string" && scopeId.startsWith(`${cardId}@`)) {
    return [key[0], scope, root + scopeId.slice(cardId.length), ...key.slice(3)];
  }
  return key;
}
