/**
 * `deno task simulate [scenario…] [--url URL] [--explain]`: sends realistic
 * signed `issuing_authorization.request` events to a running server, like
 * `stripe trigger`, and prints what it decided.
 *
 * Signed with `STRIPE_WEBHOOK_SECRET` (its first secret) or the local
 * development secret in `data/dev_webhook_secret`. Each run uses fresh
 * authorization ids, so nothing is answered from the idempotency log.
 * `--explain` fetches each decision's trace from `GET /decisions/{id}` with
 * `ADMIN_TOKEN`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import Stripe from "stripe";
import { authorizationOf, SCENARIOS } from "../fixtures/events.ts";
import type { DecisionRecord } from "../lib/store/decision_store.ts";
import { DEV_SECRET_PATH } from "../lib/service/dev_secret.ts";
import { textTable } from "./_table.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  options: { url: { type: "string" }, explain: { type: "boolean", default: false } },
  allowPositionals: true,
});
const url = values.url ??
  `http://localhost:${Deno.env.get("PORT") || 8000}${Deno.env.get("WEBHOOK_PATH") || "/webhook"}`;
const names = positionals.length > 0 ? positionals : Object.keys(SCENARIOS);
const unknown = names.filter((name) => !(name in SCENARIOS));
if (unknown.length > 0) {
  console.error(
    `Unknown scenario ${unknown.join(", ")}; known: ${Object.keys(SCENARIOS).join(", ")}`,
  );
  Deno.exit(2);
}
const secret = Deno.env.get("STRIPE_WEBHOOK_SECRET")?.split(",")[0].trim() ||
  (await Deno.readTextFile(DEV_SECRET_PATH).catch(() => "")).trim();
if (!secret) {
  console.error(`Set STRIPE_WEBHOOK_SECRET, or start the server once to create ${DEV_SECRET_PATH}`);
  Deno.exit(2);
}
const cryptoProvider = Stripe.createSubtleCryptoProvider();
const run = Date.now().toString(36);

const rows: string[][] = [];
const explanations: string[] = [];
let failed = false;
for (const name of names) {
  const event = structuredClone(SCENARIOS[name]);
  const authorization = authorizationOf(event);
  authorization.id = `${authorization.id}_${run}`;
  event.id = `${event.id}_${run}`;
  const payload = JSON.stringify(event);
  const header = await Stripe.webhooks.generateTestHeaderStringAsync({
    payload,
    secret,
    cryptoProvider,
  });
  const started = performance.now();
  const response = await fetch(url, {
    method: "POST",
    headers: { "stripe-signature": header },
    body: payload,
  });
  const latency = `${(performance.now() - started).toFixed(1)} ms`;
  const body = await response.json();
  if (response.status !== 200) {
    failed = true;
    rows.push([name, `HTTP ${response.status}`, "", body.error ?? "", latency]);
    continue;
  }
  const reasons = Object.entries(body.metadata ?? {})
    .filter(([key]) => key.startsWith("reason_"))
    .map(([, reason]) => reason);
  rows.push([
    name,
    body.approved ? "yes" : "no",
    body.amount?.toString() ?? "",
    reasons.join("; "),
    latency,
  ]);
  if (values.explain) explanations.push(await explain(name, authorization.id));
}
console.log(textTable(["scenario", "approved", "amount", "reasons", "latency"], rows));
if (explanations.length > 0) console.log(`\n${explanations.join("\n\n")}`);
if (failed) Deno.exit(1);

async function explain(name: string, authorizationId: string): Promise<string> {
  const token = Deno.env.get("ADMIN_TOKEN");
  if (!token) return `${name}: set ADMIN_TOKEN to see the trace`;
  const response = await fetch(new URL(`/decisions/${authorizationId}`, url), {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!response.ok) return `${name}: no trace (HTTP ${response.status})`;
  const record: DecisionRecord = await response.json();
  const lines = record.trace.map(({ policy, verdict }) => {
    const detail = "code" in verdict
      ? ` ${verdict.code}${verdict.detail ? `:${verdict.detail}` : ""}`
      : "";
    const amount = verdict.outcome === "limit" ? ` to ${verdict.amount}` : "";
    return `  ${policy}: ${verdict.outcome}${amount}${detail}`;
  });
  return [`${name} (${authorizationId}, policy version ${record.policy_version}):`, ...lines].join(
    "\n",
  );
}
