import { formatMinorUnits, formatUtc, fractionDigits } from "../../../lib/ops/format.ts";
import { assertEquals } from "../../_assert.ts";

Deno.test("formatMinorUnits() reads minor units by the currency's own exponent", () => {
  assertEquals(formatMinorUnits(100_000, "usd"), "1,000.00 USD");
  assertEquals(formatMinorUnits(4_999, "eur"), "49.99 EUR");
  assertEquals(formatMinorUnits(5_000, "jpy"), "5,000 JPY");
  assertEquals(formatMinorUnits(1_234, "kwd"), "1.234 KWD");
  assertEquals(formatMinorUnits(0, "gbp"), "0.00 GBP");
  assertEquals(formatMinorUnits(150, "xyz"), "1.50 XYZ", "an unknown code falls back to 2 digits");
});

Deno.test("fractionDigits() knows zero- and three-decimal currencies", () => {
  assertEquals([fractionDigits("usd"), fractionDigits("jpy"), fractionDigits("bhd")], [2, 0, 3]);
});

Deno.test("formatUtc() shows an ISO time to the second, in UTC", () => {
  assertEquals(formatUtc("2026-11-25T12:00:05.123Z"), "2026-11-25 12:00:05 UTC");
});
