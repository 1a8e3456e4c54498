/**
 * Validation of per-currency amount tables, the configuration shape of every
 * amount-based policy (`{ usd: 100_000, eur: 100_000 }`).
 *
 * @module
 */

/** Amounts by lowercase ISO 4217 currency code, in each currency's minor units. */
export type CurrencyAmounts = Readonly<Record<string, number>>;

const CURRENCY_CODE = /^[a-z]{3}$/;

/**
 * Checks a per-currency amount table once, at start-up, and returns it as a
 * `Map` for the hot path. Throws naming `owner` and the bad entry: a
 * `TypeError` for a value of the wrong type, a `RangeError` for an unknown
 * currency code or an amount that is not a positive integer.
 *
 * @example
 * ```ts
 * import { currencyAmounts } from "./currency_amounts.ts";
 * import { equal, throws } from "node:assert/strict";
 * const caps = currencyAmounts({ usd: 100_000 }, "amountCap");
 * equal(caps.get("usd"), 100_000);
 * throws(() => currencyAmounts({ usd: -5 }, "amountCap"), RangeError);
 * ```
 */
export function currencyAmounts(
  amounts: CurrencyAmounts,
  owner: string,
): ReadonlyMap<string, number> {
  if (
    typeof amounts !== "object" || amounts === null ||
    Object.keys(amounts).length === 0
  ) {
    throw new (typeof amounts === "object" && amounts !== null ? RangeError : TypeError)(
      `Cannot create ${owner}: expected amounts by currency, e.g. { usd: 100_000 }`,
    );
  }
  const byCurrency = new Map<string, number>();
  for (const [currency, amount] of Object.entries(amounts)) {
    if (!CURRENCY_CODE.test(currency)) {
      throw new RangeError(
        `Cannot create ${owner}: ${
          JSON.stringify(currency)
        } is not a lowercase ISO 4217 currency code`,
      );
    }
    if (typeof amount !== "number") {
      throw new TypeError(
        `Cannot create ${owner}: "${currency}" must be a number (an integer in minor units), got ${typeof amount}`,
      );
    }
    if (!Number.isSafeInteger(amount) || amount <= 0) {
      throw new RangeError(
        `Cannot create ${owner}: "${currency}" must be a positive integer in minor units, got ${amount}`,
      );
    }
    byCurrency.set(currency, amount);
  }
  return byCurrency;
}
