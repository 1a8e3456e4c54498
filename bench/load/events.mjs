// The load's events, shared by the Node driver (drive.mjs, for autocannon) and
// the in-process handler cost (handler_cost.ts): `count` distinct signed
// issuing_authorization.request events built from the fixture, the same every run.
import { createHash, createHmac } from "node:crypto";

const CATEGORIES = [
  ["grocery_stores_supermarkets", "5411"],
  ["eating_places_restaurants", "5812"],
  ["computer_software_stores", "5734"],
  ["automated_fuel_dispensers", "5542"],
  ["betting_casino_gambling", "7995"],
];
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/**
 * A Stripe-like id (`iauth_1MuNsGBL6H7Jst3vCg2pC3Zq`): 24 base62 characters that do not sort
 * by creation, so keys made from them land all over Deno KV's key space as real ones do
 * (sequential ids would put each batch's keys side by side, which costs SQLite far less).
 * Derived from `n`, so every run sends the same ids.
 *
 * @param {string} prefix
 * @param {number} n
 * @returns {string}
 */
export function stripeLikeId(prefix, n) {
  const digest = createHash("sha256").update(`${prefix}-${n}`).digest();
  return `${prefix}_1${Array.from(digest.subarray(0, 23), (byte) => BASE62[byte % 62]).join("")}`;
}

/**
 * Events `offset` … `offset + count - 1`: `cards` cards (50 unless told), 5 merchant categories,
 * amounts from 5.00 to 1,504.99, fuel-pump requests amount-controllable; each with a
 * `Stripe-Signature` signed at the current time.
 *
 * @param {{ data: { object: any } }} fixture a parsed issuing_authorization.request event
 * @param {string} secret the endpoint secret
 * @param {number} count
 * @param {number} offset
 * @param {number} [cards]
 * @returns {{ body: string, header: string }[]}
 */
export function signedLoadEvents(fixture, secret, count, offset, cards = 50) {
  const timestamp = Math.floor(Date.now() / 1000);
  return Array.from({ length: count }, (_, i) => {
    const n = offset + i;
    const event = structuredClone(fixture);
    const authorization = event.data.object;
    event.id = stripeLikeId("evt", n);
    authorization.id = stripeLikeId("iauth", n);
    authorization.card.id = `ic_load_${n % cards}`;
    const [category, code] = CATEGORIES[n % CATEGORIES.length];
    authorization.merchant_data.category = category;
    authorization.merchant_data.category_code = code;
    authorization.pending_request.amount = 500 + (n * 7919) % 150_000;
    authorization.pending_request.is_amount_controllable = category === "automated_fuel_dispensers";
    const body = JSON.stringify(event);
    const signature = createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
    return { body, header: `t=${timestamp},v1=${signature}` };
  });
}
