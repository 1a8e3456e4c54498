import { type CurrencyAmounts, currencyAmounts } from "../lib/engine/currency_amounts.ts";
import {
  abstain,
  limitOrDecline,
  type VelocityPolicy,
  velocityPolicy,
} from "../lib/engine/policy.ts";
import { velocityCounter } from "../lib/engine/velocity_counter.ts";
import { REASON_CODES } from "./reason_codes.ts";

/** Options of {@linkcode newCardLimit}. Give `days`, `firstApprovals` or both. */
export interface NewCardLimitOptions {
  /** A card is new for this many days after it was created (`card.created`). */
  readonly days?: number;
  /** A card is new until it has had this many approvals (counted in Deno KV, all time). */
  readonly firstApprovals?: number;
  /**
   * The most a new card's authorization may hold, per currency, in minor
   * units: its requests together, so increments cannot add up past it.
   */
  readonly maxAmount: CurrencyAmounts;
}

const DAY_MS = 86_400_000;

/**
 * Holds new cards to a smaller amount per authorization: while a card is
 * younger than `days` or has had fewer than `firstApprovals` approvals, a
 * request that would take its authorization above `maxAmount` (with what its
 * earlier requests hold, `context.held`: Stripe's `pending_request.amount` of
 * an increment is the additional amount) is limited to what is left when
 * amount-controllable and otherwise declined `new_card_limit:<currency>`.
 * Fraud on stolen card details tends to come early, before the cardholder
 * notices.
 *
 * An authorization stays held through its increments: the card's age is
 * taken when the authorization was created (`authorization.created`, its
 * first request's time), and its approvals are counted without the
 * authorization's own (an authorization counts one approval from its first
 * request that holds an amount), so neither waiting out `days` nor a small
 * purchase elsewhere lifts the hold on an authorization that is already
 * open. Approvals are counted, not dated: once the card has had
 * `firstApprovals` others, an open authorization's increments are not held by
 * that count (its age still holds them, with `days`).
 *
 * @example
 * ```ts
 * import { newCardLimit } from "./new_card_limit.ts";
 * import { authorizationEvent, authorizationOf } from "../fixtures/events.ts";
 * import { deepEqual } from "node:assert/strict";
 * const policy = newCardLimit({ days: 7, maxAmount: { usd: 20_000 } });
 * const context = { now: new Date("2026-11-25T12:00:00Z"), signal: AbortSignal.abort(), usage: () => ({ amount: 0, count: 0 }), held: { amount: 0, requests: 0 } };
 * const created = Date.parse("2026-11-23T09:00:00Z") / 1000; // two days before
 * const request = authorizationOf(authorizationEvent("online", { created: created + 2 * 86_400, card: { created }, pending_request: { amount: 45_000 } }));
 * deepEqual(policy(request, context), { outcome: "decline", code: "new_card_limit", detail: "usd" });
 * ```
 */
export function newCardLimit(options: NewCardLimitOptions): VelocityPolicy {
  const { days, firstApprovals } = options ?? {};
  if (days === undefined && firstApprovals === undefined) {
    throw new RangeError(`Cannot create newCardLimit: give "days", "firstApprovals" or both`);
  }
  for (const [name, value] of [["days", days], ["firstApprovals", firstApprovals]] as const) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) {
      throw new RangeError(
        `Cannot create newCardLimit: "${name}" must be a positive integer, got ${value}`,
      );
    }
  }
  const maxAmounts = currencyAmounts(options.maxAmount, "newCardLimit");
  const newForMs = days === undefined ? 0 : days * DAY_MS;
  const approvals = firstApprovals === undefined
    ? undefined
    : velocityCounter({ window: "all_time" }, "newCardLimit");
  const counters: VelocityPolicy["counters"] = (authorization, now) => {
    const counter = approvals?.(authorization, now, "*");
    return counter ? [counter] : [];
  };
  return velocityPolicy(
    function newCardLimit(authorization, context) {
      const request = authorization.pending_request;
      const max = maxAmounts.get(request.currency);
      if (max === undefined) return abstain();
      const left = max - context.held.amount;
      if (request.amount <= left) return abstain();
      // An age no `created` tells (Stripe always sends both) holds, as a new card's would.
      const age = (authorization.created - authorization.card.created) * 1000;
      const young = !(age >= newForMs);
      const [counter] = counters(authorization, context.now);
      const own = context.held.amount > 0 ? 1 : 0;
      const untried = counter !== undefined &&
        context.usage(counter).count - own < firstApprovals!;
      if (!young && !untried) return abstain();
      return limitOrDecline(request, left, REASON_CODES.newCardLimit, request.currency);
    },
    counters,
    options,
  );
}
