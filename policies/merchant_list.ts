import { abstain, decline, type Policy, withConfig } from "../lib/engine/policy.ts";
import { REASON_CODES } from "./reason_codes.ts";

/** Options of {@linkcode merchantList}: which merchants, and what to do with them. */
export interface MerchantListOptions {
  /**
   * `block`: decline `merchant_blocked:<merchant>` at the listed merchants.
   * `allow`: decline `merchant_not_allowed:<merchant>` everywhere else.
   */
  readonly mode: "block" | "allow";
  /** Merchant ids as the network gives them (`merchant_data.network_id`). */
  readonly ids?: readonly string[];
  /**
   * Parts of merchant names (`merchant_data.name`), matched case-insensitively
   * anywhere in the name: `"amzn"` matches `AMZN Mktp US*2K3`.
   */
  readonly names?: readonly string[];
}

/**
 * A merchant block-list or allow-list by network merchant id and by name.
 * Names as networks send them vary by location and processor
 * (`SHELL OIL 57444123`), hence parts of names; ids are exact.
 *
 * @example
 * ```ts
 * import { merchantList } from "./merchant_list.ts";
 * import { authorizationEvent, authorizationOf } from "../fixtures/events.ts";
 * import { deepEqual } from "node:assert/strict";
 * const policy = merchantList({ mode: "block", names: ["shell oil"], ids: ["1234567890"] });
 * const context = { now: new Date(), signal: AbortSignal.abort(), usage: () => ({ amount: 0, count: 0 }), held: { amount: 0, requests: 0 } };
 * deepEqual(policy(authorizationOf(authorizationEvent("fuel")), context), {
 *   outcome: "decline", code: "merchant_blocked", detail: "SHELL OIL 57444123",
 * });
 * ```
 */
export function merchantList(options: MerchantListOptions): Policy {
  const { mode } = options ?? {};
  if (mode !== "block" && mode !== "allow") {
    throw new RangeError(
      `Cannot create merchantList: "mode" must be "block" or "allow", got ${JSON.stringify(mode)}`,
    );
  }
  const ids = new Set(stringList(options.ids, "ids"));
  const names = stringList(options.names, "names").map((name) => name.toLowerCase());
  if (ids.size + names.length === 0) {
    throw new RangeError(`Cannot create merchantList: give merchant "ids" or "names"`);
  }
  const listed = (id: string, name: string | null) => {
    if (ids.has(id)) return true;
    const lower = name?.toLowerCase() ?? "";
    return names.some((part) => lower.includes(part));
  };
  return withConfig(function merchantList({ merchant_data: merchant }) {
    const isListed = listed(merchant.network_id, merchant.name);
    const label = merchant.name ?? merchant.network_id;
    if (mode === "block") {
      return isListed ? decline(REASON_CODES.merchantBlocked, label) : abstain();
    }
    return isListed ? abstain() : decline(REASON_CODES.merchantNotAllowed, label);
  }, options);
}

function stringList(values: readonly string[] | undefined, name: string): string[] {
  if (values === undefined) return [];
  if (!Array.isArray(values) || values.some((value) => typeof value !== "string")) {
    throw new TypeError(`Cannot create merchantList: "${name}" must be a list of strings`);
  }
  if (values.some((value) => value.trim() === "")) {
    throw new RangeError(`Cannot create merchantList: "${name}" has an empty entry`);
  }
  return [...values];
}
