import {
  abstain,
  type AuthorizationRequest,
  type Policy,
  type VelocityPolicy,
  withConfig,
} from "../lib/engine/policy.ts";

/**
 * A test on the request alone (its fields and arrival time), for
 * {@linkcode when}. Name it (`function goldCards(…)`): the pipeline's
 * description shows the name.
 */
export type Condition = (authorization: AuthorizationRequest, now: Date) => boolean;

/**
 * Scopes a policy: `policy` runs only on requests where `condition` holds;
 * on the others the result abstains, and a velocity policy neither reads nor
 * reserves its counters. The result keeps the policy's name, so reasons and
 * traces still say `spendLimit`; its configuration shows the condition.
 *
 * @example
 * ```ts
 * import { when } from "./when.ts";
 * import { metadataMatches } from "./metadata_matches.ts";
 * import { amountCap } from "./amount_cap.ts";
 * import { authorizationEvent, authorizationOf } from "../fixtures/events.ts";
 * import { deepEqual, equal } from "node:assert/strict";
 * // Gold cards may spend at most 5,000.00 per authorization; other cards are left alone.
 * const policy = when(metadataMatches({ card: { tier: "gold" } }), amountCap({ usd: 500_000 }));
 * const context = { now: new Date(), signal: AbortSignal.abort(), usage: () => ({ amount: 0, count: 0 }), held: { amount: 0, requests: 0 } };
 * const request = (tier: string) =>
 *   authorizationOf(authorizationEvent("online", { card: { metadata: { tier } }, pending_request: { amount: 600_000 } }));
 * deepEqual(policy(request("gold"), context), { outcome: "decline", code: "amount_over_cap", detail: "usd" });
 * deepEqual(policy(request("silver"), context), { outcome: "abstain" });
 * equal(policy.name, "amountCap");
 * ```
 */
export function when<P extends Policy>(condition: Condition, policy: P): P {
  if (typeof condition !== "function" || typeof policy !== "function") {
    throw new TypeError("Cannot create when: expected when(condition, policy), two functions");
  }
  const config = {
    when: condition.name || "condition",
    ...((condition as { config?: unknown }).config === undefined
      ? {}
      : { condition: (condition as { config?: unknown }).config }),
    policy: (policy as { config?: unknown }).config ?? null,
  };
  const scoped: Policy = (authorization, context) =>
    condition(authorization, context.now) ? policy(authorization, context) : abstain();
  Object.defineProperty(scoped, "name", { value: policy.name });
  const counters = (policy as Partial<VelocityPolicy>).counters;
  if (counters) {
    const scopedCounters: VelocityPolicy["counters"] = (authorization, now) =>
      condition(authorization, now) ? counters(authorization, now) : [];
    Object.assign(scoped, { counters: scopedCounters });
  }
  return withConfig(scoped, config) as unknown as P;
}
