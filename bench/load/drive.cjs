// Load driver, run with Node (autocannon is a Node library): prepares `amount`
// distinct signed issuing_authorization.request events, then sends them once
// each at fixed concurrency, or at a fixed rate, and prints the result as JSON.
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const autocannon = require(process.env.AUTOCANNON_PATH);

const [url, fixturePath, secret, amount, connections, rate, offset] = process.argv.slice(2);
const base = JSON.parse(fs.readFileSync(fixturePath, "utf8"));
const categories = [
  ["grocery_stores_supermarkets", "5411"],
  ["eating_places_restaurants", "5812"],
  ["computer_software_stores", "5734"],
  ["automated_fuel_dispensers", "5542"],
  ["betting_casino_gambling", "7995"],
];
const timestamp = Math.floor(Date.now() / 1000);
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/**
 * A Stripe-like id (`iauth_1MuNsGBL6H7Jst3vCg2pC3Zq`): 24 base62 characters that do not sort
 * by creation, so keys made from them land all over Deno KV's key space as real ones do
 * (sequential ids would put each batch's keys side by side, which costs SQLite far less).
 * Derived from `n`, so every run sends the same ids.
 */
function stripeLikeId(prefix, n) {
  const digest = crypto.createHash("sha256").update(`${prefix}-${n}`).digest();
  return `${prefix}_1${Array.from(digest.subarray(0, 23), (byte) => BASE62[byte % 62]).join("")}`;
}
const requests = [];
for (let i = 0; i < Number(amount); i++) {
  const n = Number(offset) + i;
  const event = structuredClone(base);
  const authorization = event.data.object;
  event.id = stripeLikeId("evt", n);
  authorization.id = stripeLikeId("iauth", n);
  authorization.card.id = `ic_load_${n % 50}`;
  const [category, code] = categories[n % categories.length];
  authorization.merchant_data.category = category;
  authorization.merchant_data.category_code = code;
  authorization.pending_request.amount = 500 + (n * 7919) % 150_000;
  authorization.pending_request.is_amount_controllable = category === "automated_fuel_dispensers";
  const body = JSON.stringify(event);
  const signature = crypto.createHmac("sha256", secret).update(`${timestamp}.${body}`).digest(
    "hex",
  );
  requests.push({ body, headers: { "stripe-signature": `t=${timestamp},v1=${signature}` } });
}

let next = 0;
let fallbacks = 0;
const fallbackKinds = {};
// autocannon reports whole seconds and notices the end on a 1 s tick: time the
// run from here to the last response for a precise rate.
const started = process.hrtime.bigint();
let lastResponse = started;
const instance = autocannon({
  url,
  method: "POST",
  connections: Number(connections),
  amount: Number(amount),
  overallRate: Number(rate) || undefined,
  timeout: 5,
  requests: [{
    setupRequest(request) {
      const prepared = requests[next++ % requests.length];
      return {
        ...request,
        method: "POST",
        path: "/webhook",
        body: prepared.body,
        headers: prepared.headers,
      };
    },
    onResponse(status, body) {
      // A fallback answer (the store could not decide in time) names itself in its metadata.
      const kind = status === 200 && /"fallback:(\w+)/.exec(body)?.[1];
      if (kind) {
        fallbacks++;
        fallbackKinds[kind] = (fallbackKinds[kind] ?? 0) + 1;
      }
    },
  }],
}, (error, result) => {
  if (error) throw error;
  const { latency } = result;
  process.stdout.write(JSON.stringify({
    rps: result.requests.total / (Number(lastResponse - started) / 1e9),
    p50: latency.p50,
    p99: latency.p99,
    p999: latency.p99_9,
    errors: result.errors + result.timeouts + result.non2xx,
    fallbacks,
    fallbackKinds,
    sent: result.requests.sent,
  }));
});
instance.on("response", () => {
  lastResponse = process.hrtime.bigint();
});
autocannon.track(instance, {
  renderProgressBar: false,
  renderResultsTable: false,
  renderLatencyTable: false,
});
