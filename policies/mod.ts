/**
 * The policy set: what `deno task start` enforces. Edit `defaultPipeline` to
 * change it; add a policy with one new file and one line here.
 *
 * Order matters only for the trace: every policy runs, any decline wins and
 * the smallest limit applies (see `lib/decide.ts`).
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
export { amountCap } from "./amount_cap.ts";
export { blockCategories } from "./block_categories.ts";
export { blockCountries } from "./block_countries.ts";
export { countLimit } from "./count_limit.ts";
export { maxNetworkRisk } from "./max_network_risk.ts";
export { partialHold } from "./partial_hold.ts";
export { REASON_CODES, type ReasonCode } from "./reason_codes.ts";
export { spendLimit } from "./spend_limit.ts";

/** 1,000.00 in each currency cards may spend, in minor units. */
const MAX_AMOUNT = { usd: 100_000, eur: 100_000, gbp: 100_000 };
/** 5,000.00 a day per card in each of those currencies. */
const MAX_DAILY_AMOUNT = { usd: 500_000, eur: 500_000, gbp: 500_000 };

/**
 * The default pipeline:
 * 1. decline gambling (`betting_casino_gambling`, MCC 7995);
 * 2. cap each authorization at 1,000.00 USD, EUR or GBP, and decline other currencies;
 * 3. hold at most 100.00 on amount-controllable fuel-pump requests (`automated_fuel_dispensers`, MCC 5542);
 * 4. approve at most 5,000.00 per card per UTC day in each of those currencies (reserved atomically in Deno KV).
 *
 * @example
 * ```ts
 * import { defaultPipeline } from "./mod.ts";
 * import { createDecide } from "../lib/engine/decide.ts";
 * const decide = createDecide(defaultPipeline, { policyVersion: "dev" });
 * // 250.00 USD pre-authorization at a fuel pump → { approved: true, amount: 10000, reasons: [partial_hold:automated_fuel_dispensers] }
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
