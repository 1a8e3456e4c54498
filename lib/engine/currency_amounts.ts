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
 * `Map` for the hot path. Throws a `TypeError` naming `owner` and the bad entry.
 *
 * @example
 * ```ts
 * import { currencyAmounts } from "./currency_amounts.ts";
 * const caps = currencyAmounts({ usd: 100_000 }, "amountCap");
 * caps.get("usd"); // 100000
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
    throw new TypeError(
      `Cannot create ${owner}: expected amounts by currency, e.g. { usd: 100_000 }`,
    );
  }
  const byCurrency = new Map<string, number>();
  for (const [currency, amount] of Object.entries(amounts)) {
    if (!CURRENCY_CODE.test(currency)) {
      throw new TypeError(
        `Cannot create ${owner}: ${
          JSON.stringify(currency)
        } is not a lowercase ISO 4217 currency code`,
      );
    }
    if (!Number.isSafeInteger(amount) || amount <= 0) {
      throw new TypeError(
        `Cannot create ${owner}: "${currency}" must be a positive integer in minor units, got ${amount}`,
      );
    }
    byCurrency.set(currency, amount);
  }
  return byCurrency;
}
