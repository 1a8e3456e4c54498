import { type CurrencyAmounts, currencyAmounts } from "../lib/engine/currency_amounts.ts";
import {
  abstain,
  limitOrDecline,
  type VelocityPolicy,
  velocityPolicy,
} from "../lib/engine/policy.ts";
import { windowName } from "../lib/engine/velocity.ts";
import { velocityCounter, type VelocityOptions } from "../lib/engine/velocity_counter.ts";
import { REASON_CODES } from "./reason_codes.ts";

/** Options of {@linkcode spendLimit}. */
export interface SpendLimitOptions extends VelocityOptions {
  /** Most that may be approved in the window, per currency, in minor units. Other currencies are left alone. */
  readonly maxAmount: CurrencyAmounts;
}

/**
 * Limits the amount approved per card (or cardholder) in a window. Approvals
 * reserve their amount atomically in Deno KV, so concurrent requests, even in
 * several processes, never exceed it together; a decline reserves nothing.
 * When a request would pass the limit, an amount-controllable one is limited
 * to what is left and any other is declined `spend_limit_exceeded:<window>:<currency>`.
 *
 * @example
 * ```ts
 * import { spendLimit } from "./spend_limit.ts";
 * import { authorizationEvent, authorizationOf } from "../fixtures/events.ts";
 * import { deepEqual } from "node:assert/strict";
 * const policy = spendLimit({ window: "daily", maxAmount: { usd: 500_000 } });
 * // 4,800.00 USD already approved today, 300.00 USD requested (not controllable).
 * const context = { now: new Date(), signal: AbortSignal.abort(), usage: () => ({ amount: 480_000, count: 6 }), held: { amount: 0, requests: 0 } };
 * const request = authorizationOf(authorizationEvent("online", { pending_request: { amount: 30_000 } }));
 * deepEqual(policy(request, context), { outcome: "decline", code: "spend_limit_exceeded", detail: "daily:usd" });
 * ```
 */
export function spendLimit(options: SpendLimitOptions): VelocityPolicy {
  const maxAmounts = currencyAmounts(options.maxAmount, "spendLimit");
  const counterFor = velocityCounter(options, "spendLimit");
  const window = windowName(options.window);
  const counters: VelocityPolicy["counters"] = (authorization, now) => {
    const { currency } = authorization.pending_request;
    const counter = maxAmounts.has(currency) ? counterFor(authorization, now, currency) : undefined;
    return counter ? [counter] : [];
  };
  return velocityPolicy(
    function spendLimit(authorization, context) {
      const [counter] = counters(authorization, context.now);
      if (!counter) return abstain();
      const request = authorization.pending_request;
      const left = maxAmounts.get(request.currency)! - context.usage(counter).amount;
      // Past the limit (a force capture, a capture above its hold), a 0.00 check still adds nothing.
      if (request.amount <= Math.max(left, 0)) return abstain();
      const detail = `${window}:${request.currency}`;
      return limitOrDecline(request, left, REASON_CODES.spendLimitExceeded, detail);
    },
    counters,
    options,
  );
}
