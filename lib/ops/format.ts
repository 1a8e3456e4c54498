/**
 * Formatting for people: amounts in minor units, times.
 *
 * @module
 */

/**
 * Digits per currency code, as found; seeded where Stripe differs from ISO
 * 4217: ISK is zero-decimal there, but "ISK will remain a two-decimal
 * currency in the Stripe API, and an ISK amount of `100` will continue to
 * represent 1 króna" (Stripe support, "Deprecation of fractional ISK charges
 * and refunds").
 */
const fractionDigitsCache = new Map<string, number>([["ISK", 2]]);

/**
 * The number of minor-unit digits of a currency in Stripe's amounts (2 for
 * USD, 0 for JPY, 3 for KWD), from the platform's ISO 4217 data except where
 * Stripe differs (ISK); 2 for a code it does not know.
 *
 * @example
 * ```ts
 * import { fractionDigits } from "./format.ts";
 * import { equal } from "node:assert/strict";
 * equal(fractionDigits("jpy"), 0);
 * equal(fractionDigits("kwd"), 3);
 * equal(fractionDigits("isk"), 2);
 * ```
 */
export function fractionDigits(currency: string): number {
  const code = currency.toUpperCase();
  let digits = fractionDigitsCache.get(code);
  if (digits === undefined) {
    try {
      digits =
        new Intl.NumberFormat("en-US", { style: "currency", currency: code }).resolvedOptions()
          .maximumFractionDigits ?? 2;
    } catch {
      digits = 2;
    }
    fractionDigitsCache.set(code, digits);
  }
  return digits;
}

/**
 * An amount in minor units as people read it, with the currency code:
 * `100_000` usd → `1,000.00 USD`, `5_000` jpy → `5,000 JPY`.
 *
 * @example
 * ```ts
 * import { formatMinorUnits } from "./format.ts";
 * import { equal } from "node:assert/strict";
 * equal(formatMinorUnits(100_000, "usd"), "1,000.00 USD");
 * equal(formatMinorUnits(5_000, "jpy"), "5,000 JPY");
 * ```
 */
export function formatMinorUnits(amount: number, currency: string): string {
  const digits = fractionDigits(currency);
  return `${majorUnits(digits).format(amount / 10 ** digits)} ${currency.toUpperCase()}`;
}

/** One formatter per number of digits: making one costs more than formatting a page of amounts. */
const majorUnitFormats = new Map<number, Intl.NumberFormat>();

function majorUnits(digits: number): Intl.NumberFormat {
  let format = majorUnitFormats.get(digits);
  if (!format) {
    format = new Intl.NumberFormat("en-US", {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
    majorUnitFormats.set(digits, format);
  }
  return format;
}

/**
 * An ISO timestamp as `YYYY-MM-DD HH:MM:SS UTC`.
 *
 * @example
 * ```ts
 * import { formatUtc } from "./format.ts";
 * import { equal } from "node:assert/strict";
 * equal(formatUtc("2026-11-25T12:00:05.123Z"), "2026-11-25 12:00:05 UTC");
 * ```
 */
export function formatUtc(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}
