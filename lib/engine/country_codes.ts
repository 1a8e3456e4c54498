/**
 * Validation of merchant-country lists.
 *
 * @module
 */

const ALPHA_2 = /^[A-Z]{2}$/;

/**
 * Checks a list of ISO 3166-1 alpha-2 codes (`"US"`, `"KP"`) once, at
 * start-up, and returns them as a `Set`. Throws naming `owner`: a
 * `RangeError` for a string that is not an uppercase alpha-2 code, a
 * `TypeError` for anything else.
 *
 * @example
 * ```ts
 * import { countryCodeSet } from "./country_codes.ts";
 * import { equal, throws } from "node:assert/strict";
 * equal(countryCodeSet(["US", "CA"], "allowCountries").has("US"), true);
 * throws(() => countryCodeSet(["usa"], "allowCountries"), RangeError);
 * ```
 */
export function countryCodeSet(
  countries: readonly string[],
  owner: string,
): ReadonlySet<string> {
  if (!Array.isArray(countries) || countries.length === 0) {
    throw new (Array.isArray(countries) ? RangeError : TypeError)(
      `Cannot create ${owner}: expected a non-empty list of ISO 3166-1 alpha-2 codes`,
    );
  }
  for (const country of countries) {
    if (typeof country !== "string" || !ALPHA_2.test(country)) {
      throw new (typeof country === "string" ? RangeError : TypeError)(
        `Cannot create ${owner}: ${
          JSON.stringify(country)
        } is not an uppercase ISO 3166-1 alpha-2 code`,
      );
    }
  }
  return new Set(countries);
}
