import {
  abstain,
  type AuthorizationRequest,
  decline,
  type Policy,
} from "../../../lib/engine/policy.ts";
import { checkPipeline } from "../../../lib/ops/policy_check.ts";
import {
  allowCategories,
  allowCountries,
  allowTimes,
  allowWallets,
  amountCap,
  blockAuthorizationMethods,
  blockCategories,
  blockCountries,
  cashLimits,
  countLimit,
  maxNetworkRisk,
  merchantList,
  metadataMatches,
  newCardLimit,
  partialHold,
  requireCardPresent,
  spendLimit,
  threeDSecure,
  verificationChecks,
  when,
} from "../../../policies/mod.ts";
import { pipeline as questionable } from "../../fixtures/pipelines/questionable.ts";
import { assert, assertEquals, assertRejects } from "../../_assert.ts";
import { authorizationEvent, authorizationOf } from "../../../fixtures/events.ts";

const base = authorizationOf(authorizationEvent("online"));

/** A rule on a field no shipped policy reads, with its constant only in the source. */
const blockParis: Policy = function blockParis({ merchant_data: merchant }) {
  return merchant.city === "PARIS" ? decline("country_blocked", "PARIS") : abstain();
};

/** Every shipped policy, configured as a card program would. */
const SHIPPED: readonly Policy[] = [
  allowCategories([
    "grocery_stores_supermarkets",
    "automated_fuel_dispensers",
    "eating_places_restaurants",
  ]),
  allowCountries(["US", "CA"]),
  allowTimes({
    timeZone: "America/New_York",
    days: ["mon", "tue", "wed", "thu", "fri"],
    from: "08:00",
    to: "19:00",
  }),
  allowWallets(["apple_pay", "google_pay"]),
  amountCap({ usd: 100_000 }),
  blockAuthorizationMethods(["keyed_in", "swipe"]),
  blockCategories(["betting_casino_gambling"]),
  blockCountries(["KP", "IR"]),
  cashLimits({ maxCashback: { usd: 10_000 }, maxAtmFee: { usd: 500 } }),
  countLimit({ window: { rollingMinutes: 10 }, maxCount: 5 }),
  countLimit({ window: "daily", maxCount: 3, perMerchant: true }),
  maxNetworkRisk({ maxScore: 75 }),
  merchantList({ mode: "block", names: ["lucky casino"], ids: ["4445556667"] }),
  newCardLimit({ days: 7, maxAmount: { usd: 20_000 } }),
  partialHold({ categories: ["automated_fuel_dispensers"], maxAmount: { usd: 10_000 } }),
  requireCardPresent(),
  spendLimit({ window: "daily", maxAmount: { usd: 500_000 } }),
  threeDSecure({
    declineResults: ["failed"],
    declineAcquirerExemptions: ["transaction_risk_analysis"],
  }),
  verificationChecks({ cvc_check: ["mismatch"], expiry_check: ["mismatch"] }),
  when(
    metadataMatches({ card: { tier: "gold" } }),
    amountCap({ usd: 500_000 }, { per: "request" }),
  ),
  when(metadataMatches({ cardholder: { department: "field_ops" } }), requireCardPresent()),
  blockParis,
];

Deno.test("checkPipeline() finds every shipped policy firing, and none always firing", async () => {
  const report = await checkPipeline(SHIPPED, base, { runs: 2_000 });
  assertEquals(report.policies.length, SHIPPED.length);
  for (const check of report.policies) {
    assertEquals(check.warnings, [], `${check.policy}: ${check.example}`);
    assert(check.outcomes.decline + check.outcomes.limit > 0, check.policy);
    assert(check.outcomes.abstain > 0, check.policy);
  }
});

Deno.test("checkPipeline() warns about a policy that never fires and one that always fires, with an example", async () => {
  const report = await checkPipeline(questionable, base, { runs: 500 });
  assertEquals(report.policies.map(({ policy, warnings }) => [policy, warnings]), [
    ["blockLargeDollars", ["never fires"]],
    ["groceriesOnly", ["always fires"]],
  ]);
  assert(report.policies.every(({ example }) => example?.includes(" at ")));
  assertEquals(
    report.neverApproved.find(({ field }) => field === "merchant_data.category")?.value,
    "(every value)",
  );
});

Deno.test("checkPipeline() warns about a policy that throws on every request (writing to it, too) and one that never settles", async () => {
  const typo: Policy = function readsATypo(authorization) {
    return (authorization as unknown as { merchant_dta: { name: string } }).merchant_dta.name
      ? abstain()
      : abstain();
  };
  const hangs: Policy = function hangs() {
    return new Promise(() => {});
  };
  // Live, the request is frozen and the write throws: every request would get the fallback.
  const writes: Policy = function lowercasesTheName(authorization) {
    authorization.merchant_data.name = authorization.merchant_data.name?.toLowerCase() ?? null;
    return abstain();
  };
  const started = performance.now();
  const report = await checkPipeline([typo, writes, hangs], base, { runs: 50 });
  assertEquals(report.policies.map(({ policy, warnings }) => [policy, warnings]), [
    ["readsATypo", ["always throws"]],
    ["lowercasesTheName", ["always throws"]],
    ["hangs", ["never settles (waited 1500 ms)"]],
  ]);
  assertEquals(report.neverApproved, []);
  assert(performance.now() - started < 10_000, "one wait for the policy that never settles");
});

Deno.test("checkPipeline() warns about a policy whose answer is not a verdict, and names it", async () => {
  // What plain `deno run` accepts, with no type check: each made the check fail or mislead.
  const forgets = function forgetsToReturn(authorization: AuthorizationRequest) {
    if (authorization.pending_request.amount > 1_000_000) return decline("too_much" as never);
  } as unknown as Policy;
  const nan: Policy = () => ({ outcome: "limit", amount: Number.NaN, code: "x" });
  const approves = (() => ({ outcome: "approve" })) as unknown as Policy;
  Object.defineProperty(nan, "name", { value: "limitsToNaN" });
  Object.defineProperty(approves, "name", { value: "approves" });
  const report = await checkPipeline([forgets, nan, approves], base, { runs: 50 });
  const warning =
    "answers something that is not a verdict (abstain(), decline(code) or limit(amount, code)): its fallback is answered";
  assertEquals(report.policies.map(({ policy, warnings }) => [policy, warnings]), [
    ["forgetsToReturn", [warning]],
    ["limitsToNaN", [warning]],
    ["approves", [warning]],
  ]);
});

Deno.test("checkPipeline() refuses more runs than it can hold", async () => {
  await assertRejects(
    () => checkPipeline([], base, { runs: 1e15 }),
    RangeError,
    "from 1 to 100000",
  );
});

Deno.test("checkPipeline() lists what the pipeline never approves, and is deterministic", async () => {
  const pipeline = [
    blockCategories(["betting_casino_gambling"]),
    amountCap({ usd: 100_000, eur: 100_000 }),
  ];
  const report = await checkPipeline(pipeline, base, { runs: 300 });
  assertEquals(
    report.neverApproved.map(({ field, value, reasons }) => `${field}=${value}: ${reasons[0]}`)
      .sort(),
    [
      "merchant_data.category=betting_casino_gambling: mcc_blocked:betting_casino_gambling (blockCategories)",
      "pending_request.currency=aud: currency_not_allowed:aud (amountCap)",
      "pending_request.currency=cad: currency_not_allowed:cad (amountCap)",
      "pending_request.currency=gbp: currency_not_allowed:gbp (amountCap)",
      "pending_request.currency=jpy: currency_not_allowed:jpy (amountCap)",
    ],
  );
  assertEquals(await checkPipeline(pipeline, base, { runs: 300 }), report);
});
