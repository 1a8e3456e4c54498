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
 * import { authorizationEvent, authorizationOf } from "../fixtures/events.ts";
 * import { deepEqual } from "node:assert/strict";
 * const policy = allowCountries(["US", "CA"]);
 * const context = { now: new Date("2026-11-25T12:00:00Z"), signal: AbortSignal.abort(), usage: () => ({ amount: 0, count: 0 }), held: { amount: 0, requests: 0 } };
 * const paris = authorizationOf(authorizationEvent("online", { merchant_data: { country: "FR" } }));
 * deepEqual(policy(paris, context), { outcome: "decline", code: "country_not_allowed", detail: "FR" });
 * ```
 */
export function allowCountries(countries: readonly string[]): Policy {
  const allowed = countryCodeSet(countries, "allowCountries");
  return withConfig(function allowCountries({ merchant_data: { country } }) {
    if (country !== null && allowed.has(country)) return abstain();
    return decline(REASON_CODES.countryNotAllowed, country ?? "unknown");
  }, countries);
}
