/**
 * The `Stripe-Version` a webhook answer carries.
 *
 * @module
 */
import Stripe from "stripe";

/** Stripe's API versions: a date, optionally with a release name (`2026-07-29.dahlia`). */
export const API_VERSION = /^\d{4}-\d{2}-\d{2}(\.\w+)?$/;

/**
 * The version to answer with: the pinned one (`STRIPE_API_VERSION`), else
 * the event's `api_version` when it looks like one, else the version this
 * stripe-node was built for. An event's `api_version` is signed but still
 * data: one holding CR/LF or other bytes no header may carry would make the
 * answer fail after the decision was recorded, so it is never echoed as is.
 *
 * @example
 * ```ts
 * import { stripeVersionFor } from "./stripe_version.ts";
 * import Stripe from "stripe";
 * import assert from "node:assert/strict";
 * assert.equal(stripeVersionFor(undefined, "2026-07-29.dahlia"), "2026-07-29.dahlia");
 * assert.equal(stripeVersionFor("2025-01-27.acacia", "2026-07-29.dahlia"), "2025-01-27.acacia");
 * assert.equal(stripeVersionFor(undefined, "x\r\nSet-Cookie: a=b"), Stripe.API_VERSION);
 * ```
 */
export function stripeVersionFor(pinned: string | undefined, eventVersion: unknown): string {
  if (pinned !== undefined) return pinned;
  return typeof eventVersion === "string" && API_VERSION.test(eventVersion)
    ? eventVersion
    : Stripe.API_VERSION;
}
