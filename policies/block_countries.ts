import { countryCodeSet } from "../lib/engine/country_codes.ts";
import { abstain, decline, type Policy, withConfig } from "../lib/engine/policy.ts";
import { REASON_CODES } from "./reason_codes.ts";

/**
 * Declines `country_blocked:<country>` at merchants in any of the given
 * countries (`merchant_data.country`, ISO 3166-1 alpha-2).
 *
 * @example
 * ```ts
 * import { blockCountries } from "./block_countries.ts";
 * import { authorizationEvent, authorizationOf } from "../fixtures/events.ts";
 * import { deepEqual } from "node:assert/strict";
 * const policy = blockCountries(["KP", "IR"]);
 * const context = { now: new Date("2026-11-25T12:00:00Z"), signal: AbortSignal.abort(), usage: () => ({ amount: 0, count: 0 }), held: { amount: 0, requests: 0 } };
 * const pyongyang = authorizationOf(authorizationEvent("online", { merchant_data: { country: "KP", city: "PYONGYANG" } }));
 * deepEqual(policy(pyongyang, context), { outcome: "decline", code: "country_blocked", detail: "KP" });
 * ```
 */
export function blockCountries(countries: readonly string[]): Policy {
  const blocked = countryCodeSet(countries, "blockCountries");
  return withConfig(function blockCountries({ merchant_data: { country } }) {
    return country !== null && blocked.has(country)
      ? decline(REASON_CODES.countryBlocked, country)
      : abstain();
  }, countries);
}
