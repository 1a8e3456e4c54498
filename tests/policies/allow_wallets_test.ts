import { allowWallets } from "../../policies/allow_wallets.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { verdictOf } from "./_decide_one.ts";

Deno.test("allowWallets()", async (t) => {
  const phoneOnly = allowWallets(["apple_pay", "google_pay"]);
  await t.step("abstains on a tokenized phone payment", () => {
    assertEquals(
      verdictOf(phoneOnly, "fuel", {
        wallet: "google_pay",
        token: "intok_1Q2w3E4r",
        authorization_method: "contactless",
      }),
      { outcome: "abstain" },
    );
  });
  await t.step("declines the card itself and other wallets", () => {
    assertEquals(verdictOf(phoneOnly, "fuel"), {
      outcome: "decline",
      code: "wallet_not_allowed",
      detail: "none",
    });
    assertEquals(verdictOf(phoneOnly, "online", { wallet: "samsung_pay" }).outcome, "decline");
  });
  await t.step('"none" admits the card itself', () => {
    assertEquals(verdictOf(allowWallets(["apple_pay", "none"]), "online").outcome, "abstain");
  });
  await t.step("refuses an unknown wallet at start-up", () => {
    assertThrows(() => allowWallets(["paypal" as never]), RangeError, "paypal");
    assertThrows(() => allowWallets([]), RangeError, "at least one");
  });
});
