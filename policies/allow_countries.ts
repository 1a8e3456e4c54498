import { countryCodeSet } from "../lib/engine/country_codes.ts";
import { abstain, decline, type Policy, withConfig } from "../lib/engine/policy.ts";
import { REASON_CODES } from "./reason_codes.ts";

/**
 * Declines `country_not_allowed:<country>` at merchants outside the given
 * countries (ISO 3166-1 alpha-2). A merchant with no country is declined
 * `country_not_allowed:unknown`: an allow-list admits only what it names.
 *
 * @example
 * ```ts
 * import { allowCountries } from "./allow_countries.ts";
 * const policy = allowCountries(["US", "CA"]);
 * // at a merchant in FR → { outcome: "decline", code: "country_not_allowed", detail: "FR" }
 * ```
 */
export function allowCountries(countries: readonly string[]): Policy {
  const allowed = countryCodeSet(countries, "allowCountries");
  return withConfig(function allowCountries({ merchant_data: { country } }) {
    if (country !== null && allowed.has(country)) return abstain();
    return decline(REASON_CODES.countryNotAllowed, country ?? "unknown");
  }, countries);
}
