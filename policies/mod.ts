/**
 * The policy set: what `deno task start` enforces. Edit `defaultPipeline` to
 * change it; add a policy with one new file, its reason code in
 * `reason_codes.ts`, and one line here (see README, "Writing a policy").
 *
 * Order matters only for the trace: every policy runs, any decline wins and
 * the smallest limit applies (see `lib/engine/decide.ts`).
 *
 * @module
 */
import type { Policy } from "../lib/engine/policy.ts";
import { amountCap } from "./amount_cap.ts";
import { blockCategories } from "./block_categories.ts";
import { partialHold } from "./partial_hold.ts";
import { spendLimit } from "./spend_limit.ts";

export { allowCategories } from "./allow_categories.ts";
export { allowCountries } from "./allow_countries.ts";
export { allowTimes } from "./allow_times.ts";
export { allowWallets } from "./allow_wallets.ts";
export { amountCap } from "./amount_cap.ts";
export { blockAuthorizationMethods } from "./block_authorization_methods.ts";
export { blockCategories } from "./block_categories.ts";
export { blockCountries } from "./block_countries.ts";
export { cashLimits } from "./cash_limits.ts";
export { countLimit } from "./count_limit.ts";
export { maxNetworkRisk } from "./max_network_risk.ts";
export { merchantList } from "./merchant_list.ts";
export { metadataMatches } from "./metadata_matches.ts";
export { newCardLimit } from "./new_card_limit.ts";
export { partialHold } from "./partial_hold.ts";
export { type PolicyReasonCode, REASON_CODES } from "./reason_codes.ts";
export { requireCardPresent } from "./require_card_present.ts";
export { spendLimit } from "./spend_limit.ts";
export { threeDSecure } from "./three_d_secure.ts";
export { verificationChecks } from "./verification_checks.ts";
export { type Condition, when } from "./when.ts";

/** 1,000.00 in each currency cards may spend, in minor units. */
const MAX_AMOUNT = { usd: 100_000, eur: 100_000, gbp: 100_000 };
/** 5,000.00 a day per card in each of those currencies. */
const MAX_DAILY_AMOUNT = { usd: 500_000, eur: 500_000, gbp: 500_000 };

/**
 * The default pipeline:
 * 1. decline gambling (`betting_casino_gambling`, MCC 7995);
 * 2. cap each authorization's total (increments included) at 1,000.00 for
 *    cards in USD, EUR or GBP, and decline cards in other currencies;
 * 3. hold at most 100.00 per authorization on amount-controllable fuel-pump requests (`automated_fuel_dispensers`, MCC 5542);
 * 4. approve at most 5,000.00 per card per UTC day in each of those currencies (reserved atomically in Deno KV).
 *
 * @example
 * ```ts
 * import { defaultPipeline } from "./mod.ts";
 * import { createDecide, type Decision } from "../lib/engine/decide.ts";
 * import { authorizationEvent, authorizationOf } from "../fixtures/events.ts";
 * import { equal } from "node:assert/strict";
 * const decide = createDecide(defaultPipeline, { policyVersion: "dev" });
 * // A 250.00 USD pre-authorization at a fuel pump is held at 100.00.
 * const fuel = authorizationOf(authorizationEvent("fuel", { pending_request: { amount: 25_000 } }));
 * equal((decide(fuel) as Decision).amount, 10_000);
 * ```
 */
export const defaultPipeline: readonly Policy[] = [
  blockCategories(["betting_casino_gambling"]),
  amountCap(MAX_AMOUNT),
  partialHold({
    categories: ["automated_fuel_dispensers"],
    maxAmount: { usd: 10_000, eur: 10_000, gbp: 10_000 },
  }),
  spendLimit({ per: "card", window: "daily", maxAmount: MAX_DAILY_AMOUNT }),
];
