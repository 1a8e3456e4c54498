/**
 * A static check of a pipeline: every policy over thousands of generated,
 * Stripe-shaped authorization requests (fast-check), to find policies that
 * never fire or always fire, and what the whole pipeline can never approve.
 *
 * @module
 */
import fc from "fast-check";
import { MERCHANT_CATEGORY_ROWS } from "../engine/_merchant_category_rows.ts";
import {
  createDecide,
  type Decision,
  DEFAULT_DECISION_BUDGET_MS,
  isVerdict,
} from "../engine/decide.ts";
import {
  type AuthorizationRequest,
  describePipeline,
  type Held,
  NOTHING_HELD,
  type Policy,
  type PolicyContext,
  type Verdict,
} from "../engine/policy.ts";
import { NO_USAGE, type Usage } from "../engine/velocity.ts";
import { Deadline, TIMED_OUT } from "../engine/deadline.ts";
import { deepFreeze } from "../engine/deep_freeze.ts";

/** Requests generated per policy (and for the pipeline) unless told otherwise. */
export const DEFAULT_RUNS = 3_000;
/** The most `runs` a check takes: each is a generated request per policy, kept in memory. */
export const MAX_RUNS = 100_000;
/** A verdict not settled within the policies' default budget falls back live: reported. */
const SETTLE_MS = DEFAULT_DECISION_BUDGET_MS;
/** Requests tried per value when looking for values the pipeline never approves. */
const TRIES_PER_VALUE = 40;

/** One generated input: the request and what the engine would hand a policy besides it. */
export interface CheckInput {
  readonly authorization: AuthorizationRequest;
  readonly now: Date;
  readonly usage: Usage;
  readonly held: Held;
}

/** How often one policy gave each outcome, and its warnings, each with an example. */
export interface PolicyCheck {
  readonly policy: string;
  readonly outcomes: Record<Verdict["outcome"], number>;
  /**
   * `never fires` (it abstained on every input), `always fires` (it objected
   * to every input), `always throws` or `never settles` (live, every request
   * would get the fallback).
   */
  readonly warnings: readonly string[];
  /** An input behind the first warning: one it abstained on, or one it objected to. */
  readonly example?: string;
}

/** A value of a field for which no generated request was approved by the pipeline. */
export interface NeverApproved {
  readonly field: string;
  readonly value: string;
  /** The reasons the requests with it were declined, most frequent first. */
  readonly reasons: readonly string[];
}

/** The report of {@linkcode checkPipeline}. */
export interface PipelineCheck {
  readonly policies: readonly PolicyCheck[];
  readonly neverApproved: readonly NeverApproved[];
  readonly runs: number;
}

/**
 * Runs each policy over `runs` generated requests and the whole pipeline over
 * every value of each field a policy can read. The generator varies every
 * field of the Stripe authorization that policies read (merchant category,
 * country, city, name and network id; amount, currency and merchant
 * currency, controllability, cash back and ATM fee; network risk score;
 * verification results, 3-D Secure and exemptions; card presence,
 * authorization method, wallet and token; card age and card and cardholder
 * metadata; time of day and day of week; velocity usage and what the
 * authorization already holds) and mixes in the strings and numbers found in
 * the policies' configuration and source, so a rule on one city or one
 * metadata value is exercised. Seeded: the same pipeline gives the same
 * report.
 *
 * @example
 * ```ts
 * import { checkPipeline } from "./policy_check.ts";
 * import { blockCountries } from "../../policies/block_countries.ts";
 * import { allowCountries } from "../../policies/allow_countries.ts";
 * import { authorizationEvent, authorizationOf } from "../../fixtures/events.ts";
 * import { deepEqual } from "node:assert/strict";
 * const report = await checkPipeline(
 *   [blockCountries(["KP"]), allowCountries(["US"])],
 *   authorizationOf(authorizationEvent()),
 *   { runs: 500 },
 * );
 * deepEqual(report.policies.map((check) => check.warnings), [[], []]);
 * deepEqual(report.neverApproved.find((entry) => entry.value === "KP")?.reasons[0], "country_blocked:KP (blockCountries)");
 * ```
 */
export async function checkPipeline(
  policies: readonly Policy[],
  base: AuthorizationRequest,
  { runs = DEFAULT_RUNS, seed = 42 }: { runs?: number; seed?: number } = {},
): Promise<PipelineCheck> {
  if (!Number.isSafeInteger(runs) || runs < 1 || runs > MAX_RUNS) {
    throw new RangeError(
      `checkPipeline: "runs" must be an integer from 1 to ${MAX_RUNS}, got ${runs}`,
    );
  }
  const constants = mineConstants(policies);
  const inputs = fc.sample(inputArbitrary(base, constants), { numRuns: runs, seed });
  const signal = new AbortController().signal;
  const checks: PolicyCheck[] = [];
  // A pipeline with a policy that never settles answers every request its fallback.
  let settles = true;
  for (const [index, policy] of policies.entries()) {
    const outcomes = { abstain: 0, decline: 0, limit: 0 };
    let abstained: CheckInput | undefined;
    let fired: CheckInput | undefined;
    let threw: CheckInput | undefined;
    let hung: CheckInput | undefined;
    let malformed: CheckInput | undefined;
    for (const input of inputs) {
      // As `decide` gives it: a policy that writes to the request throws there, and here.
      deepFreeze(input.authorization);
      const context: PolicyContext = {
        now: input.now,
        signal,
        usage: () => input.usage,
        held: input.held,
      };
      let verdict: unknown;
      try {
        const result = policy(input.authorization, context);
        verdict = result instanceof Promise ? await Deadline.after(SETTLE_MS).race(result) : result;
      } catch {
        // A policy that throws on odd input is the fault suite's business; on every input, this one's.
        threw ??= input;
        continue;
      }
      if (verdict === TIMED_OUT) {
        hung = input; // one is enough: waiting out every input would take runs × SETTLE_MS
        settles = false;
        break;
      }
      // The engine answers such a request with the fallback, as for a policy that throws.
      if (!isVerdict(verdict)) {
        malformed ??= input;
        continue;
      }
      outcomes[verdict.outcome]++;
      if (verdict.outcome === "abstain") abstained ??= input;
      else fired ??= input;
    }
    const warnings: string[] = [];
    if (hung) warnings.push(`never settles (waited ${SETTLE_MS} ms)`);
    else if (malformed) {
      warnings.push(
        "answers something that is not a verdict (abstain(), decline(code) or limit(amount, code)): its fallback is answered",
      );
    } else if (threw && !fired && !abstained) warnings.push("always throws");
    else if (!fired && abstained) warnings.push("never fires");
    else if (fired && !abstained) warnings.push("always fires");
    const example = warnings.length > 0
      ? describeInput((hung ?? malformed ?? threw ?? abstained ?? fired)!)
      : undefined;
    checks.push({
      policy: policy.name || `policy_${index + 1}`,
      outcomes,
      warnings,
      ...(example ? { example } : {}),
    });
  }
  return {
    policies: checks,
    // Nothing more to find in a pipeline that never settles.
    neverApproved: settles ? await neverApproved(policies, base, constants, seed) : [],
    runs,
  };
}

/** Strings and numbers a pipeline mentions: its configuration, and string literals in its source. */
interface Constants {
  readonly strings: readonly string[];
  /** Key-value pairs of strings in configurations (metadata conditions, typically). */
  readonly pairs: readonly (readonly [string, string])[];
  readonly numbers: readonly number[];
}

function mineConstants(policies: readonly Policy[]): Constants {
  const strings = new Set<string>();
  const pairs = new Map<string, readonly [string, string]>();
  const numbers = new Set<number>();
  const walk = (value: unknown, key?: string) => {
    if (typeof value === "string") {
      strings.add(value);
      if (key !== undefined) pairs.set(`${key}\0${value}`, [key, value]);
    } else if (typeof value === "number" && Number.isFinite(value)) {
      numbers.add(value);
    } else if (Array.isArray(value)) {
      for (const item of value) walk(item);
    } else if (value !== null && typeof value === "object") {
      for (const [name, item] of Object.entries(value)) walk(item, name);
    }
  };
  for (const { config } of describePipeline(policies)) walk(config);
  for (const policy of policies) {
    for (const [, , double, single] of String(policy).matchAll(/(["'])((?:(?!\1)[^\\\n])*)\1/g)) {
      const literal = double ?? single;
      if (literal && literal.length <= 64) strings.add(literal);
    }
  }
  return { strings: [...strings], pairs: [...pairs.values()], numbers: [...numbers] };
}

const CATEGORIES = MERCHANT_CATEGORY_ROWS.map(({ category, mcc }) => ({
  category,
  category_code: mcc ?? "0000",
}));
const COUNTRIES = ["US", "CA", "GB", "FR", "DE", "IE", "NL", "JP", "MX", "BR", "IN", "NG"];
const CITIES = ["SAN FRANCISCO", "NEW YORK", "LONDON", "PARIS", "BERLIN", "TORONTO"];
const CURRENCIES = ["usd", "eur", "gbp", "cad", "jpy", "aud"];
const CHECK_RESULTS = ["match", "mismatch", "not_provided"] as const;
const METHODS = ["chip", "contactless", "keyed_in", "online", "swipe"] as const;
const WALLETS = ["apple_pay", "google_pay", "samsung_pay"] as const;
const THREE_DS = ["attempt_acknowledged", "authenticated", "failed", "required"] as const;
const EXEMPTIONS = ["low_value_transaction", "transaction_risk_analysis", "unknown"] as const;
const DAY_S = 86_400;
/** Inputs are spread over a week from here (times of day and days of week). */
const EPOCH_MS = Date.UTC(2026, 10, 23);

function inputArbitrary(
  base: AuthorizationRequest,
  constants: Constants,
): fc.Arbitrary<CheckInput> {
  const mined = constants.strings.length > 0 ? fc.constantFrom(...constants.strings) : undefined;
  const withMined = (arbitrary: fc.Arbitrary<string>) =>
    mined ? fc.oneof({ arbitrary, weight: 3 }, { arbitrary: mined, weight: 1 }) : arbitrary;
  const minedCountries = constants.strings.filter((value) => /^[A-Z]{2}$/.test(value));
  const minedCurrencies = constants.strings.filter((value) => /^[a-z]{3}$/.test(value));
  const amounts = fc.oneof(
    fc.integer({ min: 1, max: 10_000 }),
    fc.integer({ min: 1, max: 2_000_000 }),
    ...(constants.numbers.length > 0
      ? [
        fc.constantFrom(...constants.numbers).chain((n) =>
          fc.integer({ min: Math.max(1, Math.floor(n) - 1), max: Math.floor(n) + 1 })
        ),
      ]
      : []),
  );
  const metadata = constants.pairs.length > 0
    ? fc.subarray([...constants.pairs]).map((entries) => Object.fromEntries(entries))
    : fc.constant({});
  const checkResult = fc.constantFrom(...CHECK_RESULTS);
  const merchantName = withMined(fc.constantFrom(base.merchant_data.name ?? "MERCHANT"))
    .chain((name) =>
      fc.constantFrom(name, name.toUpperCase(), `${name} #${base.merchant_data.terminal_id ?? 1}`)
    );
  return fc.record({
    category: fc.constantFrom(...CATEGORIES),
    country: fc.option(fc.constantFrom(...COUNTRIES, ...minedCountries), { freq: 12 }),
    city: withMined(fc.constantFrom(...CITIES)),
    name: merchantName,
    networkId: withMined(fc.constantFrom(base.merchant_data.network_id, "4445556667")),
    amount: amounts,
    currency: fc.constantFrom(...CURRENCIES, ...minedCurrencies),
    merchantCurrency: fc.constantFrom(...CURRENCIES),
    controllable: fc.boolean(),
    cashback: fc.option(fc.integer({ min: 100, max: 50_000 }), { freq: 3 }),
    atmFee: fc.option(fc.integer({ min: 50, max: 1_000 }), { freq: 3 }),
    risk: fc.option(fc.integer({ min: 1, max: 99 }), { freq: 8 }),
    cvc: checkResult,
    expiry: checkResult,
    line1: checkResult,
    postal: checkResult,
    threeDs: fc.option(fc.constantFrom(...THREE_DS), { freq: 2 }),
    exemption: fc.option(
      fc.record({
        claimed_by: fc.constantFrom("acquirer", "issuer"),
        type: fc.constantFrom(...EXEMPTIONS),
      }),
      { freq: 3 },
    ),
    method: fc.constantFrom(...METHODS),
    presence: fc.option(fc.constantFrom("present", "not_present"), { freq: 10 }),
    wallet: fc.option(fc.constantFrom(...WALLETS), { freq: 2 }),
    cardAgeDays: fc.oneof(fc.integer({ min: 0, max: 14 }), fc.integer({ min: 15, max: 2_000 })),
    cardMetadata: metadata,
    cardholderMetadata: metadata,
    offsetMs: fc.integer({ min: 0, max: 7 * DAY_S * 1000 }),
    usage: fc.oneof(
      fc.constant(NO_USAGE),
      fc.record({
        amount: fc.integer({ min: 0, max: 10_000_000 }),
        count: fc.integer({ min: 0, max: 1_000 }),
      }),
    ),
    held: fc.oneof(
      { arbitrary: fc.constant(NOTHING_HELD), weight: 3 },
      {
        arbitrary: fc.record({
          amount: fc.integer({ min: 1, max: 500_000 }),
          requests: fc.integer({ min: 1, max: 5 }),
        }),
        weight: 1,
      },
    ),
  }).map((draw): CheckInput => {
    const now = new Date(EPOCH_MS + draw.offsetMs);
    const authorization: AuthorizationRequest = {
      ...base,
      created: Math.floor(now.getTime() / 1000),
      authorization_method: draw.method,
      card_presence: draw.presence,
      wallet: draw.wallet,
      token: draw.wallet ? "intok_generated" : null,
      card: {
        ...base.card,
        created: Math.floor(now.getTime() / 1000) - draw.cardAgeDays * DAY_S,
        metadata: { ...base.card.metadata, ...draw.cardMetadata },
        cardholder: {
          ...base.card.cardholder,
          metadata: { ...base.card.cardholder.metadata, ...draw.cardholderMetadata },
        },
      },
      merchant_data: {
        ...base.merchant_data,
        ...draw.category,
        country: draw.country,
        city: draw.city,
        name: draw.name,
        network_id: draw.networkId,
      },
      verification_data: {
        ...base.verification_data,
        cvc_check: draw.cvc,
        expiry_check: draw.expiry,
        address_line1_check: draw.line1,
        address_postal_code_check: draw.postal,
        three_d_secure: draw.threeDs ? { result: draw.threeDs } : null,
        authentication_exemption: draw.exemption,
      },
      pending_request: {
        ...base.pending_request,
        amount: draw.amount,
        merchant_amount: draw.amount,
        currency: draw.currency,
        merchant_currency: draw.merchantCurrency,
        is_amount_controllable: draw.controllable,
        network_risk_score: draw.risk,
        amount_details: {
          cashback_amount: draw.cashback === null ? null : Math.min(draw.cashback, draw.amount),
          atm_fee: draw.atmFee,
        },
      },
    };
    return { authorization, now, usage: draw.usage, held: draw.held };
  });
}

/** The fields the pipeline report goes through, with their values and how to set one. */
const FIELDS: readonly {
  readonly field: string;
  readonly values: (constants: Constants) => readonly string[];
  readonly set: (authorization: AuthorizationRequest, value: string) => AuthorizationRequest;
}[] = [
  {
    field: "merchant_data.category",
    values: () => CATEGORIES.map(({ category }) => category),
    set: (authorization, value) => ({
      ...authorization,
      merchant_data: {
        ...authorization.merchant_data,
        ...CATEGORIES.find(({ category }) => category === value)!,
      },
    }),
  },
  {
    field: "merchant_data.country",
    values: (constants) => [
      ...new Set([...COUNTRIES, ...constants.strings.filter((value) => /^[A-Z]{2}$/.test(value))]),
    ],
    set: (authorization, value) => ({
      ...authorization,
      merchant_data: { ...authorization.merchant_data, country: value },
    }),
  },
  {
    field: "pending_request.currency",
    values: (constants) => [
      ...new Set([...CURRENCIES, ...constants.strings.filter((value) => /^[a-z]{3}$/.test(value))]),
    ],
    set: (authorization, value) => ({
      ...authorization,
      pending_request: { ...authorization.pending_request, currency: value },
    }),
  },
  {
    field: "authorization_method",
    values: () => METHODS,
    set: (authorization, value) => ({
      ...authorization,
      authorization_method: value as AuthorizationRequest["authorization_method"],
    }),
  },
  {
    field: "wallet",
    values: () => [...WALLETS, "none"],
    set: (authorization, value) => ({
      ...authorization,
      wallet: value === "none" ? null : value,
    }),
  },
];

async function neverApproved(
  policies: readonly Policy[],
  base: AuthorizationRequest,
  constants: Constants,
  seed: number,
): Promise<NeverApproved[]> {
  const decide = createDecide(policies, { policyVersion: "check" });
  // Mostly the recorded request, sometimes another: a value is reported only
  // if no request with it gets through, however ordinary the rest.
  const others = fc.sample(inputArbitrary(base, constants), { numRuns: TRIES_PER_VALUE, seed });
  const candidates: CheckInput[] = [
    {
      authorization: base,
      now: new Date(EPOCH_MS + 14 * 3_600_000),
      usage: NO_USAGE,
      held: NOTHING_HELD,
    },
    ...others,
  ];
  const found: NeverApproved[] = [];
  for (const { field, values, set } of FIELDS) {
    const all = values(constants);
    // The values side by side, each trying its requests in turn: a pipeline with an async lookup
    // (200 ms, say) waited for every value's tries one after another (a minute and a half).
    const outcomes = await Promise.all(all.map(async (value) => {
      const reasons = new Map<string, number>();
      let approved = false;
      let tried = 0;
      for (const input of candidates) {
        let decision: Decision;
        try {
          decision = await decide(set(input.authorization, value), {
            now: input.now,
            usage: () => input.usage,
            held: input.held,
          });
        } catch {
          continue;
        }
        if (decision.approved) {
          approved = true;
          break;
        }
        tried++;
        for (const { policy, code, detail } of decision.reasons) {
          const reason = `${code}${detail === undefined ? "" : `:${detail}`} (${policy})`;
          reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
        }
      }
      if (approved || tried === 0) return undefined;
      // The reasons every try gave are the cause; failing that, the most frequent.
      const sorted = [...reasons].sort((a, b) => b[1] - a[1]);
      const always = sorted.filter(([, count]) => count === tried).map(([reason]) => reason);
      return { field, value, reasons: always.length > 0 ? always : [sorted[0][0]] };
    }));
    const inField = outcomes.filter((outcome) => outcome !== undefined);
    found.push(
      ...(inField.length === all.length && all.length > 1
        ? [{ field, value: "(every value)", reasons: commonReasons(inField) }]
        : inField),
    );
  }
  return found;
}

function commonReasons(entries: readonly NeverApproved[]): string[] {
  const counts = new Map<string, number>();
  for (const { reasons } of entries) {
    for (const reason of reasons) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([reason]) => reason);
}

/** The fields of an input a person needs to reproduce a verdict, on one line. */
function describeInput({ authorization: a, now, usage, held }: CheckInput): string {
  const request = a.pending_request;
  return [
    `${request.amount} ${request.currency}${
      request.is_amount_controllable ? " (controllable)" : ""
    }`,
    `at ${a.merchant_data.name} (${a.merchant_data.category}, ${a.merchant_data.city ?? "?"}, ${
      a.merchant_data.country ?? "?"
    }, id ${a.merchant_data.network_id})`,
    `${a.authorization_method}${a.wallet ? ` via ${a.wallet}` : ""}, card ${
      a.card_presence ?? "presence unknown"
    }`,
    `risk ${request.network_risk_score ?? "none"}, cvc ${a.verification_data.cvc_check}`,
    `card metadata ${JSON.stringify(a.card.metadata)}`,
    `at ${now.toISOString()}`,
    `usage ${usage.amount}/${usage.count}, held ${held.amount}`,
  ].join("; ");
}
