/**
 * Validation of merchant-country lists.
 *
 * @module
 */

const ALPHA_2 = /^[A-Z]{2}$/;

/**
 * The 249 assigned ISO 3166-1 alpha-2 codes (tzdata's public-domain
 * `iso3166.tab`, current as of ISO/TC 46 N1108, 2023-04-05), and `XK`
 * (Kosovo: user-assigned, but what card networks send for it).
 */
const ASSIGNED = new Set(
  (
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR " +
    "BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ " +
    "EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW " +
    "GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY " +
    "KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV " +
    "MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY " +
    "QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG " +
    "TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM " +
    "ZW"
  ).split(" ").concat("XK"),
);

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
 * throws(() => countryCodeSet(["UK"], "blockCountries"), /the United Kingdom's is "GB"/);
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
    // Shaped like one, but no merchant's country: a rule on it would never match (Stripe sends "GB").
    if (!ASSIGNED.has(country)) {
      throw new RangeError(
        `Cannot create ${owner}: "${country}" is not an assigned ISO 3166-1 alpha-2 code${
          country === "UK" ? ' (the United Kingdom\'s is "GB")' : ""
        }`,
      );
    }
  }
  return new Set(countries);
}
