import { allowTimes } from "../../policies/allow_times.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { verdictOf } from "./_decide_one.ts";

const at = (iso: string) => ({ now: new Date(iso) });

Deno.test("allowTimes()", async (t) => {
  const businessHours = allowTimes({
    timeZone: "America/New_York",
    days: ["mon", "tue", "wed", "thu", "fri"],
    from: "08:00",
    to: "19:00",
  });
  await t.step("abstains inside the window, in the window's time zone", () => {
    // 13:00 UTC on a Wednesday is 08:00 in New York (EST, UTC−5).
    assertEquals(verdictOf(businessHours, "online", {}, undefined, at("2026-11-25T13:00:00Z")), {
      outcome: "abstain",
    });
  });
  await t.step("declines before it, after it and on weekends", () => {
    assertEquals(
      verdictOf(businessHours, "online", {}, undefined, at("2026-11-25T12:59:00Z")),
      { outcome: "decline", code: "outside_allowed_times", detail: "wed 07:59 America/New_York" },
    );
    assertEquals(
      verdictOf(businessHours, "online", {}, undefined, at("2026-11-26T00:00:00Z")).outcome,
      "decline",
    );
    assertEquals(
      verdictOf(businessHours, "online", {}, undefined, at("2026-11-28T15:00:00Z")).outcome,
      "decline",
    );
  });
  await t.step(
    "seconds apart across a minute boundary, the same policy answers by each minute",
    () => {
      const verdicts = ["12:59:00", "12:59:59", "13:00:00", "13:00:30", "12:59:30"].map((time) =>
        verdictOf(businessHours, "online", {}, undefined, at(`2026-11-25T${time}Z`)).outcome
      );
      assertEquals(verdicts, ["decline", "decline", "abstain", "abstain", "decline"]);
    },
  );
  await t.step("a zone whose offset had seconds changes minute inside a UTC minute", () => {
    // Africa/Monrovia was UTC−0:44:30 until 1972: 12:00:00Z was 11:15:30 there, 12:00:40Z 11:16:10.
    const monrovia = allowTimes({ timeZone: "Africa/Monrovia", from: "11:16", to: "12:00" });
    const verdicts = ["12:00:00", "12:00:40", "12:00:20"].map((time) =>
      verdictOf(monrovia, "online", {}, undefined, at(`1971-06-01T${time}Z`)).outcome
    );
    assertEquals(verdicts, ["decline", "abstain", "decline"]);
  });
  await t.step("a window earlier at its end than its start wraps past midnight", () => {
    const night = allowTimes({ timeZone: "Europe/Paris", from: "22:00", to: "06:00" });
    assertEquals(
      verdictOf(night, "online", {}, undefined, at("2026-11-25T23:30:00Z")).outcome,
      "abstain",
    );
    assertEquals(
      verdictOf(night, "online", {}, undefined, at("2026-11-25T12:00:00Z")).outcome,
      "decline",
    );
  });
  await t.step("a night that wraps belongs to the day it starts on", () => {
    const weeknights = allowTimes({
      timeZone: "America/New_York",
      days: ["mon", "tue", "wed", "thu", "fri"],
      from: "22:00",
      to: "06:00",
    });
    // New York is UTC−5 in late November: 2026-11-28 is a Saturday, 2026-11-30 a Monday.
    const outcomes = [
      "2026-11-28T03:30:00Z", // Friday 22:30
      "2026-11-28T08:00:00Z", // Saturday 03:00, the end of Friday's night
      "2026-11-29T03:30:00Z", // Saturday 22:30
      "2026-11-30T08:00:00Z", // Monday 03:00, the end of Sunday's night
      "2026-12-01T08:00:00Z", // Tuesday 03:00, the end of Monday's night
    ].map((iso) => verdictOf(weeknights, "online", {}, undefined, at(iso)));
    assertEquals(outcomes.map((verdict) => verdict.outcome), [
      "abstain",
      "abstain",
      "decline",
      "decline",
      "abstain",
    ]);
    assertEquals(
      (outcomes[3] as { detail?: string }).detail,
      "mon 03:00 America/New_York",
    );
  });
  await t.step("refuses a bad time zone, day or time at start-up", () => {
    assertThrows(() => allowTimes({ timeZone: "Mars/Olympus" }), RangeError, "timeZone");
    assertThrows(
      () => allowTimes({ timeZone: "UTC", days: ["monday" as never] }),
      RangeError,
      "monday",
    );
    assertThrows(() => allowTimes({ timeZone: "UTC", from: "9:00" }), RangeError, '"from"');
    assertThrows(
      () => allowTimes({ timeZone: "UTC", from: "09:00", to: "09:00" }),
      RangeError,
      "equal",
    );
  });
});
