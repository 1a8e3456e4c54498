/**
 * `deno task simulate [scenario…] [--card ID] [--url URL] [--explain] [--list]`:
 * sends realistic signed `issuing_authorization.request` events to a running
 * server, like `stripe trigger`, and prints what it decided.
 *
 * Signed with `STRIPE_WEBHOOK_SECRET` (its first secret, read as the server
 * reads it) or the local development secret in `data/dev_webhook_secret`.
 * Each run uses a fresh card
 * (`ic_sim_<run>`, or `--card`; a sequence such as
 * `increment_over_daily_limit` gets `<card>_<sequence>` unless `--card` is
 * given), so velocity limits start from zero, and fresh
 * authorization ids, so nothing is answered from the idempotency log. In
 * `DECISION_MODE=api` the server answers `{ received: true }` and sends its
 * decision through Stripe's API: the decision shown is then the logged one
 * (`GET /decisions/{id}`, with `ADMIN_TOKEN`).
 *
 * @module
 */
import { errorLine } from "../lib/service/error_line.ts";
import Stripe from "stripe";
import { ALL_SCENARIOS as SCENARIOS, authorizationOf } from "../fixtures/events.ts";
import { SEQUENCES } from "../fixtures/sequences.ts";
import type { AuthorizationRequest } from "../lib/engine/policy.ts";
import { formatMinorUnits } from "../lib/ops/format.ts";
import type { DecisionRecord } from "../lib/store/decision_store.ts";
import { DEV_SECRET_PATH, readDevSecret } from "../lib/service/dev_secret.ts";
import { loadConfig, type ServiceConfig } from "../lib/service/config.ts";
import { parseTaskArgs, runTask, sharedEnv, UsageError } from "./_cli.ts";
import { textTable } from "./_table.ts";

const USAGE = `usage: deno task simulate [scenario…] [--card ID] [--url URL] [--explain] [--list]

Sends signed issuing_authorization.request events to a running server
(deno task start) and prints each decision. With no scenario, sends them all.
  --card ID   use this card id instead of a fresh one (velocity limits then add up)
  --url URL   the webhook URL (default http://localhost:$PORT/webhook)
  --explain   also print each decision's trace (needs ADMIN_TOKEN)
  --list      list the scenarios

scenarios: ${Object.keys(SCENARIOS).join(", ")}
sequences (several requests on one card): ${Object.keys(SEQUENCES).join(", ")}`;

/**
 * How long simulate waits for each answer, headers and body. Stripe waits 2 s
 * and then applies the card's timeout setting; a server still silent after
 * five times that is stuck, or is not this service, and a run must end with
 * a message rather than hang.
 */
const ANSWER_TIMEOUT_MS = 10_000;

/** The server's variables simulate reads too: the secret, and where the webhook listens. */
const SHARED_VARIABLES = ["STRIPE_WEBHOOK_SECRET", "PORT", "WEBHOOK_PATH"] as const;

/** One scenario's row: what the server answered, as a person reads it. */
type Row = [scenario: string, approved: string, amount: string, reasons: string, latency: string];

/** Runs the simulation; returns the exit code. */
export function main(args: string[] = Deno.args): Promise<number> {
  return runTask(async () => {
    const parsed = parseTaskArgs(args, {
      url: { type: "string" },
      card: { type: "string" },
      explain: { type: "boolean", default: false },
      list: { type: "boolean", default: false },
    }, USAGE);
    if (!parsed) return;
    const { values, positionals } = parsed;
    const known = [...Object.keys(SCENARIOS), ...Object.keys(SEQUENCES)];
    if (values.list) {
      console.log(known.join("\n"));
      return;
    }
    const names = positionals.length > 0 ? positionals : known;
    const unknown = names.filter((name) => !known.includes(name));
    if (unknown.length > 0) {
      throw new UsageError(`unknown scenario ${unknown.join(", ")}; known: ${known.join(", ")}`);
    }
    // Said here, not as the server's "event has no issuing authorization" for the first request.
    if (values.card !== undefined && !/^[A-Za-z0-9_]{1,200}$/.test(values.card)) {
      throw new UsageError(
        `--card must be a card id such as ic_1AbC (letters, digits and _, up to 200), got ${
          JSON.stringify(values.card.slice(0, 40))
        }`,
      );
    }
    if (values.url !== undefined && !URL.canParse(values.url)) {
      throw new UsageError(
        `--url must be a whole URL such as http://localhost:8000/webhook, got ${
          JSON.stringify(values.url.slice(0, 80))
        }`,
      );
    }
    const config = serverConfig(values.url === undefined);
    const url = values.url ?? `http://localhost:${config.port}${config.webhookPath}`;
    const secret = await webhookSecret(config);
    // Before any authorization is sent: a refused token would stop the run after the first one.
    if (values.explain) await checkAdminToken(url);
    const run = Date.now().toString(36);
    const card = values.card ?? `ic_sim_${run}`;
    const cryptoProvider = Stripe.createSubtleCryptoProvider();
    const rows: Row[] = [];
    const explanations: string[] = [];
    let failed = false;
    const steps = names.flatMap((name) =>
      name in SEQUENCES
        ? SEQUENCES[name].map(({ label, event }) => ({
          name: `${name}: ${label}`,
          event,
          card: values.card ?? `${card}_${name}`,
        }))
        : [{ name, event: SCENARIOS[name], card }]
    );
    for (const step of steps) {
      const { name } = step;
      const event = structuredClone(step.event);
      const authorization = authorizationOf(event);
      authorization.id = `${authorization.id}_${run}`;
      authorization.card.id = step.card;
      event.id = `${event.id}_${run}`;
      const payload = JSON.stringify(event);
      const header = await Stripe.webhooks.generateTestHeaderStringAsync({
        payload,
        secret,
        cryptoProvider,
      });
      const started = performance.now();
      const { response, text } = await fetchWithin(url, {
        method: "POST",
        headers: { "stripe-signature": header, "content-type": "application/json" },
        body: payload,
      }, (error) =>
        new Error(
          `nothing answers at ${url} (${
            errorLine(error)
          }): start the server with \`deno task start\`, or pass --url`,
        ));
      const latency = `${(performance.now() - started).toFixed(1)} ms`;
      const body = parsedObject(text);
      if (response.status === 200 && !isAnswer(body)) {
        // Another server at --url, or a proxy's page: a body that decides nothing is not a "no".
        failed = true;
        const shown = errorLine(text.trim().slice(0, 80)) || "an empty body";
        rows.push([name, "HTTP 200", "", `not a decision: ${shown}`, latency]);
        continue;
      }
      if (response.status !== 200) {
        failed = true;
        const hint = response.status === 400 && /signature/i.test(body.error ?? "")
          ? " (is the server using the same STRIPE_WEBHOOK_SECRET?)"
          : "";
        rows.push([name, `HTTP ${response.status}`, "", `${body.error ?? ""}${hint}`, latency]);
        continue;
      }
      if (body.received === true && body.approved === undefined) {
        rows.push([name, ...await apiDecision(url, authorization), latency]);
      } else {
        rows.push([name, ...answered(body, authorization.pending_request.currency), latency]);
      }
      if (values.explain) explanations.push(await explain(url, name, authorization.id));
    }
    console.log(`card ${card}\n`);
    console.log(textTable(["scenario", "approved", "amount", "reasons", "latency"], rows));
    if (explanations.length > 0) console.log(`\n${explanations.join("\n\n")}`);
    return failed ? 1 : 0;
  });
}

/**
 * The server's reading of {@linkcode SHARED_VARIABLES}, by its own parser, so
 * that simulate and `deno task start` in one shell agree: `STRIPE_WEBHOOK_SECRET`
 * split on commas with empty entries dropped, `PORT` trimmed. Only these
 * are passed on (`PORT` and `WEBHOOK_PATH` only when no --url replaces
 * them): the rest of the server's configuration is not simulate's to refuse.
 */
function serverConfig(needsUrl: boolean): ServiceConfig {
  const names = SHARED_VARIABLES.filter((name) => needsUrl || name === "STRIPE_WEBHOOK_SECRET");
  return loadConfig(sharedEnv(names));
}

/** The first secret the server accepts, or the local development secret. */
async function webhookSecret(config: ServiceConfig): Promise<string> {
  const [configured] = config.webhookSecrets;
  if (configured) return configured;
  const secret = await readDevSecret(DEV_SECRET_PATH);
  if (secret !== undefined) return secret;
  throw new Error(
    `no webhook secret: set STRIPE_WEBHOOK_SECRET, or start the server once (deno task start) to create ${DEV_SECRET_PATH}`,
  );
}

/** What the webhook answers: a decision, API mode's receipt, or an error. */
interface WebhookAnswer {
  approved?: boolean;
  received?: boolean;
  amount?: number;
  metadata?: Record<string, string>;
  error?: string;
}

/** A response body's JSON object, or an empty one when it is not one (checked by `isAnswer`). */
function parsedObject(text: string): WebhookAnswer {
  try {
    const value = JSON.parse(text);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value;
  } catch {
    // Not JSON: the caller reports the text itself.
  }
  return {};
}

/** A webhook answer: a decision (`approved`), or API mode's `{ received: true }`. */
function isAnswer(body: WebhookAnswer): boolean {
  return typeof body.approved === "boolean" || body.received === true;
}

/** The decision in a direct answer: `{ approved, amount?, metadata }`, its amount in `currency`. */
function answered(body: WebhookAnswer, currency: string): [string, string, string] {
  const reasons = Object.entries(body.metadata ?? {})
    .filter(([key]) => key.startsWith("reason_"))
    .map(([, reason]) => reason);
  return [body.approved ? "yes" : "no", amountIn(body.amount, currency), reasons.join("; ")];
}

/** An answered amount (minor units) as the dashboard shows it, e.g. `100.00 USD`. */
function amountIn(amount: number | null | undefined, currency: string): string {
  return typeof amount === "number" ? formatMinorUnits(amount, currency) : "";
}

/** In API mode the answer is `{ received: true }`: the decision is the logged one. */
async function apiDecision(
  url: string,
  { id, pending_request: { currency } }: AuthorizationRequest,
): Promise<[string, string, string]> {
  const record = await loggedDecision(url, id);
  if (typeof record === "string") return ["sent via API", "", record];
  const reasons = record.reasons.map((reason) =>
    `${reason.code}${reason.detail === undefined ? "" : `:${reason.detail}`} (${reason.policy})`
  );
  return [
    `${record.approved ? "yes" : "no"} (via API)`,
    amountIn(record.amount, currency),
    reasons.join("; "),
  ];
}

/**
 * The logged decision, or why it cannot be read. Throws when the server
 * refuses `ADMIN_TOKEN`: every other read would be refused too.
 */
async function loggedDecision(url: string, id: string): Promise<DecisionRecord | string> {
  const token = Deno.env.get("ADMIN_TOKEN");
  if (!token) return "set ADMIN_TOKEN to see the decision";
  const { response, text } = await adminRead(new URL(`/decisions/${id}`, url), token);
  if (!response.ok) return `no logged decision (HTTP ${response.status})`;
  return JSON.parse(text);
}

/** Throws, as {@linkcode loggedDecision} would, if the server refuses `ADMIN_TOKEN`. */
async function checkAdminToken(url: string): Promise<void> {
  const token = Deno.env.get("ADMIN_TOKEN");
  if (token) await adminRead(new URL("/policies", url), token);
}

/** An admin API read; throws when the server refuses the token: every other read would be refused too. */
async function adminRead(
  url: URL,
  token: string,
): Promise<{ response: Response; text: string }> {
  const read = await fetchWithin(url, { headers: { authorization: `Bearer ${token}` } });
  if (read.response.status === 401 || read.response.status === 403) {
    throw new Error(
      `ADMIN_TOKEN was refused (HTTP ${read.response.status}): set it to the server's ADMIN_TOKEN`,
    );
  }
  return read;
}

/**
 * `fetch`, then the whole body, within {@linkcode ANSWER_TIMEOUT_MS}. A
 * timeout throws one line naming the URL; another failure to connect
 * throws `unreachable(error)` when given, else the error itself.
 */
async function fetchWithin(
  url: string | URL,
  init: RequestInit,
  unreachable: (error: unknown) => Error = (error) => error as Error,
): Promise<{ response: Response; text: string }> {
  const signal = AbortSignal.timeout(ANSWER_TIMEOUT_MS);
  const noAnswer = () =>
    new Error(
      `no answer from ${url} within ${ANSWER_TIMEOUT_MS / 1_000} s: ` +
        "it took the connection but did not answer (is the server stuck, or another program listening there?)",
    );
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal });
  } catch (error) {
    throw signal.aborted ? noAnswer() : unreachable(error);
  }
  try {
    return { response, text: await response.text() };
  } catch (error) {
    throw signal.aborted ? noAnswer() : error;
  }
}

async function explain(url: string, name: string, id: string): Promise<string> {
  const record = await loggedDecision(url, id);
  if (typeof record === "string") return `${name}: ${record} and its trace`;
  const lines = record.trace.map(({ policy, verdict }) => {
    const detail = "code" in verdict
      ? ` ${verdict.code}${verdict.detail ? `:${verdict.detail}` : ""}`
      : "";
    const amount = verdict.outcome === "limit"
      ? ` to ${formatMinorUnits(verdict.amount, record.currency)}`
      : "";
    return `  ${policy}: ${verdict.outcome}${amount}${detail}`;
  });
  return [`${name} (${id}, policy version ${record.policy_version}):`, ...lines].join("\n");
}

if (import.meta.main) Deno.exit(await main());
