import {
  abstain,
  addsApproval,
  decline,
  type VelocityPolicy,
  velocityPolicy,
} from "../lib/engine/policy.ts";
import { windowName } from "../lib/engine/velocity.ts";
import { velocityCounter, type VelocityOptions } from "../lib/engine/velocity_counter.ts";
import { REASON_CODES } from "./reason_codes.ts";

/** Options of {@linkcode countLimit}. */
export interface CountLimitOptions extends VelocityOptions {
  /** Most approvals in the window, across currencies. */
  readonly maxCount: number;
}

/**
 * Limits the number of approvals per card (or cardholder) in a window, e.g.
 * at most 5 in any 10 minutes. Past it: decline `count_limit_exceeded:<window>`.
 * Approvals are reserved atomically, as for `spendLimit`. An authorization
 * counts once, from its first request that holds an amount: its increments
 * (on an authorization that holds one, ours or, where Stripe's timeout setting
 * approved a request we declined, Stripe's) and a 0.00 status check add no
 * approval and are not declined for the count; a spend limit still bounds
 * them.
 *
 * @example
 * ```ts
 * import { countLimit } from "./count_limit.ts";
 * import { authorizationEvent, authorizationOf } from "../fixtures/events.ts";
 * import { deepEqual } from "node:assert/strict";
 * const policy = countLimit({ window: { rollingMinutes: 10 }, maxCount: 5 });
 * // Five approvals on the card in the last 10 minutes: the sixth request is declined.
 * const context = { now: new Date(), signal: AbortSignal.abort(), usage: () => ({ amount: 25_000, count: 5 }), held: { amount: 0, requests: 0 } };
 * deepEqual(policy(authorizationOf(authorizationEvent()), context), {
 *   outcome: "decline", code: "count_limit_exceeded", detail: "rolling_10m",
 * });
 * ```
 */
export function countLimit(options: CountLimitOptions): VelocityPolicy {
  const { maxCount } = options;
  if (!Number.isSafeInteger(maxCount) || maxCount < 1) {
    throw new RangeError(
      `Cannot create countLimit: "maxCount" must be a positive integer, got ${maxCount}`,
    );
  }
  const counterFor = velocityCounter(options, "countLimit");
  const window = windowName(options.window);
  const counters: VelocityPolicy["counters"] = (authorization, now) => {
    const counter = counterFor(authorization, now, "*");
    return counter ? [counter] : [];
  };
  return velocityPolicy(
    function countLimit(authorization, context) {
      const [counter] = counters(authorization, context.now);
      if (
        !counter || !addsApproval(authorization.pending_request.amount, context.held) ||
        context.usage(counter).count < maxCount
      ) return abstain();
      return decline(REASON_CODES.countLimitExceeded, window);
    },
    counters,
    options,
  );
}
