/**
 * `deno task screenshots`: regenerates the README's dashboard screenshots
 * (`docs/dashboard.png` at 1920 px; `docs/dashboard-phone.png` and
 * `docs/dashboard-phone-decisions.png` at 390 px; `docs/decision.png`) from a store seeded with a week of realistic traffic,
 * in headless Chromium (`CHROMIUM_PATH`, default `/usr/bin/chromium`).
 *
 * @module
 */
import puppeteer from "puppeteer-core";
import type Stripe from "stripe";
import { createDecide } from "../lib/engine/decide.ts";
import { Deadline } from "../lib/engine/deadline.ts";
import type { Policy } from "../lib/engine/policy.ts";
import {
  createDecisionStore,
  type DecisionRecord,
  type DecisionStore,
} from "../lib/store/decision_store.ts";
import { createService } from "../lib/service/service.ts";
import { amountCap } from "../policies/amount_cap.ts";
import { defaultPipeline } from "../policies/mod.ts";
import { authorizationEvent, authorizationOf } from "../fixtures/events.ts";
import { requestEvent } from "../fixtures/lifecycle.ts";

/** Options of {@linkcode seedDecisions}. */
export interface SeedOptions {
  /** The live pipeline the seeded decisions are made by. */
  readonly policies: readonly Policy[];
  /** A shadow pipeline, decided beside it. */
  readonly shadowPolicies?: readonly Policy[];
  /** The end of the seeded traffic. */
  readonly now: Date;
  /** How far back it starts, in ms. */
  readonly spanMs: number;
  /** Decisions per hour at the daily peak (fewer at night). */
  readonly peakPerHour: number;
  /** Seed of the pseudo-random traffic, so runs are alike. */
  readonly seed?: number;
}

const MERCHANTS = [
  {
    base: "online",
    name: "CORNER GROCERY",
    category: "grocery_stores_supermarkets",
    amount: [800, 9_000],
    weight: 6,
  },
  {
    base: "online",
    name: "CITY CABS",
    category: "taxicabs_limousines",
    amount: [900, 6_000],
    weight: 4,
  },
  {
    base: "online",
    name: "ACME CLOUD SOFTWARE",
    category: "computer_software_stores",
    amount: [1_000, 40_000],
    weight: 3,
  },
  {
    base: "online",
    name: "SKYWAYS AIR",
    category: "airlines_air_carriers",
    amount: [20_000, 180_000],
    weight: 1,
  },
  {
    base: "online",
    name: "LUCKY CASINO",
    category: "betting_casino_gambling",
    amount: [2_000, 20_000],
    weight: 1,
  },
  {
    base: "fuel",
    name: "SPEEDY FUEL 24",
    category: "automated_fuel_dispensers",
    amount: [7_500, 25_000],
    weight: 3,
  },
] as const;
const CARDS = 40;

/**
 * Decides a span of pseudo-random authorizations through a real decision
 * store on `kv`, each at its own time in the past (more by day, fewer by
 * night), and reconciles most of them as Stripe would (`agreed`, a few
 * `webhook_timeout` and `mismatch`): records, indexes, counters and
 * aggregates are written exactly as live traffic writes them. Returns how
 * many were decided. Throws a `RangeError` for a non-positive span or rate.
 *
 * @example
 * ```ts
 * import { seedDecisions } from "./screenshots.ts";
 * import { equal } from "node:assert/strict";
 * const kv = await Deno.openKv(":memory:");
 * const abstain = () => ({ outcome: "abstain" as const });
 * const count = await seedDecisions(kv, {
 *   policies: [abstain], now: new Date(), spanMs: 3_600_000, peakPerHour: 30,
 * });
 * equal(count > 0, true);
 * kv.close();
 * ```
 */
export async function seedDecisions(kv: Deno.Kv, options: SeedOptions): Promise<number> {
  const { now, spanMs, peakPerHour } = options;
  if (!(spanMs > 0)) throw new RangeError(`spanMs must be positive, got ${spanMs}`);
  if (!(peakPerHour > 0)) throw new RangeError(`peakPerHour must be positive, got ${peakPerHour}`);
  const random = mulberry32(options.seed ?? 20261125);
  const pipeline = (policies: readonly Policy[]) =>
    createDecide(policies, { policyVersion: "seeded", budgetMs: 1_500, fallback: "decline" });
  const store = createDecisionStore({
    kv,
    decide: pipeline(options.policies),
    shadowDecide: options.shadowPolicies && pipeline(options.shadowPolicies),
    log: () => {},
    retentionMs: 30 * 86_400_000,
  });
  const weights = MERCHANTS.reduce((sum, merchant) => sum + merchant.weight, 0);
  let at = now.getTime() - spanMs, count = 0;
  while (true) {
    const hour = new Date(at).getUTCHours();
    const rate = peakPerHour * (0.15 + 0.85 * Math.sin((Math.PI * hour) / 24) ** 2);
    at += (-Math.log(1 - random()) / rate) * 3_600_000;
    if (at >= now.getTime()) return count;
    let pick = random() * weights;
    const merchant = MERCHANTS.find((m) => (pick -= m.weight) < 0) ?? MERCHANTS[0];
    const [low, high] = merchant.amount;
    const event = authorizationEvent(merchant.base, {
      id: `iauth_${stripeId(random)}`,
      card: { id: `ic_seed${String(Math.floor(random() * CARDS)).padStart(3, "0")}` },
      merchant_data: { name: merchant.name, category: merchant.category },
      pending_request: { amount: Math.round(low + random() * (high - low)) },
    });
    const { record } = await store.decideAndRecord(authorizationOf(event), {
      eventId: `evt_${stripeId(random)}`,
      receivedAt: Math.floor(at),
      deadline: Deadline.after(10_000),
      path: "respond",
      eventBytes: 4_000,
    });
    count++;
    const roll = random();
    if (roll < 0.8) {
      const outcome = roll < 0.01 ? "webhook_timeout" : roll < 0.015 ? "mismatch" : "agreed";
      await reconcile(store, event, record, outcome);
    }
  }
}

/** Sends the `issuing_authorization.created` Stripe would send after our answer. */
async function reconcile(
  store: DecisionStore,
  event: Stripe.Event,
  { approved, amount, requested_amount, decided_at }: DecisionRecord,
  outcome: "agreed" | "webhook_timeout" | "mismatch",
): Promise<void> {
  const authorization = authorizationOf(event);
  const stripeApproved = outcome === "agreed" ? approved : !approved;
  // What Stripe holds: what we approved (a partial hold's amount), or the whole request if it
  // approved what we declined.
  const held = stripeApproved ? (approved ? amount ?? requested_amount : requested_amount) : 0;
  const created = Math.floor(Date.parse(decided_at) / 1000);
  const reason = outcome === "webhook_timeout"
    ? "webhook_timeout"
    : stripeApproved
    ? "webhook_approved"
    : "webhook_declined";
  await store.reconcile({
    ...authorization,
    created,
    amount: held,
    pending_request: null,
    approved: stripeApproved,
    status: stripeApproved ? "pending" : "closed",
    request_history: [{
      ...authorization.pending_request,
      approved: stripeApproved,
      authorization_code: null,
      created,
      reason,
      reason_message: null,
      requested_at: created,
    }],
  } as unknown as Stripe.Issuing.Authorization, "created");
}

const HOTEL = "iauth_1SeedHotelStay0000000000";

/** A hotel stay: a first authorization and an incremental one on it, for the decision page. */
async function seedHotelStay(kv: Deno.Kv, shadowPolicies: readonly Policy[], now: Date) {
  const pipeline = (policies: readonly Policy[]) =>
    createDecide(policies, { policyVersion: "seeded", fallback: "decline" });
  const store = createDecisionStore({
    kv,
    decide: pipeline(defaultPipeline),
    shadowDecide: pipeline(shadowPolicies),
    log: () => {},
    retentionMs: 30 * 86_400_000,
  });
  const hotel = { name: "HARBOR HOTEL", category: "hotels_motels_and_resorts" };
  const requests = [
    requestEvent({ id: HOTEL, merchant_data: hotel, pending_request: { amount: 30_000 } }),
    requestEvent({ id: HOTEL, merchant_data: hotel, pending_request: { amount: 12_000 } }, [{
      amount: 30_000,
    }]),
  ];
  for (const [i, event] of requests.entries()) {
    await store.decideAndRecord(authorizationOf(event), {
      eventId: event.id,
      receivedAt: now.getTime() - (30 - 20 * i) * 60_000,
      deadline: Deadline.after(10_000),
      path: "respond",
      eventBytes: 4_000,
    });
  }
}

function stripeId(random: () => number): string {
  const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  return Array.from({ length: 24 }, () => alphabet[Math.floor(random() * alphabet.length)])
    .join("");
}

/** A small seeded PRNG (mulberry32), so screenshots are alike from run to run. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

if (import.meta.main) {
  const ADMIN_TOKEN = crypto.randomUUID() + crypto.randomUUID();
  const docs = new URL("../docs/", import.meta.url).pathname;
  const kv = await Deno.openKv(":memory:");
  const shadowPolicies = [...defaultPipeline, amountCap({ usd: 50_000, eur: 50_000 })];
  const now = new Date();
  const seeded = await seedDecisions(kv, {
    policies: defaultPipeline,
    shadowPolicies,
    now,
    spanMs: 7 * 86_400_000,
    peakPerHour: 40,
  });
  // The last hour busier, so the 1-hour view has something in every minute.
  const recent = await seedDecisions(kv, {
    policies: defaultPipeline,
    shadowPolicies,
    now,
    spanMs: 3_600_000,
    peakPerHour: 400,
    seed: 7,
  });
  await seedHotelStay(kv, shadowPolicies, now);
  const service = await createService(
    new Map([["ADMIN_TOKEN", ADMIN_TOKEN], ["STRIPE_WEBHOOK_SECRET", "whsec_screenshots"]]),
    {
      policies: defaultPipeline,
      shadowPolicies,
      policiesDir: new URL("../policies/", import.meta.url),
      serviceVersion: "screenshots",
      kv,
      log: (record) => {
        if (record.level === "error") console.error(record);
      },
    },
  );
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, service.fetch);
  const base = `http://127.0.0.1:${server.addr.port}`;
  const browser = await puppeteer.launch({
    executablePath: Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars"],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1920, height: 1080 });
    await page.goto(`${base}/dashboard/login`);
    await page.type("input[name=token]", ADMIN_TOKEN);
    await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
    await page.goto(`${base}/dashboard?range=7d`);
    await page.screenshot({ path: `${docs}dashboard.png`, fullPage: true });
    await page.setViewport({ width: 390, height: 844, deviceScaleFactor: 2 });
    await page.goto(`${base}/dashboard?range=1h`);
    await page.screenshot({ path: `${docs}dashboard-phone.png` });
    // The decisions as cards: the first few, beside each other with the top of the page.
    const table = await page.$("#decisions");
    const box = (await table!.boundingBox())!;
    await page.screenshot({
      path: `${docs}dashboard-phone-decisions.png`,
      clip: { x: 0, y: box.y - 8, width: 390, height: 844 },
      captureBeyondViewport: true,
    });
    await page.setViewport({ width: 1280, height: 900 });
    await page.goto(`${base}/dashboard/decisions/${HOTEL}`);
    await page.screenshot({ path: `${docs}decision.png`, fullPage: true });
  } finally {
    await browser.close();
    await server.shutdown();
    await service[Symbol.asyncDispose]();
  }
  console.error(
    `seeded ${
      seeded + recent
    } decisions; wrote docs/dashboard.png, docs/dashboard-phone*.png, docs/decision.png`,
  );
}
