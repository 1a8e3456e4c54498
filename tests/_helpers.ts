/**
 * Test helpers: Stripe-style signing (two independent signers), and the real
 * service on a random loopback port.
 *
 * @module
 */
import Stripe from "stripe";
import type { LogRecord } from "../lib/telemetry/log.ts";
import type { Policy } from "../lib/engine/policy.ts";
import { listen } from "../lib/http/listen.ts";
import { createService } from "../lib/service/service.ts";
import { referencePipeline } from "./fixtures/pipelines/reference.ts";

/** The endpoint secret tests sign with. */
export const TEST_SECRET = "whsec_test_4eC39HqLyjWDarjtT1zdp7dc";

/** The repository's `policies/` folder. */
export const POLICIES_DIR = new URL("../policies/", import.meta.url);

/**
 * A `Stripe-Signature` header made with plain Web Crypto HMAC-SHA256 over
 * `"{t}.{payload}"`, independent of stripe-node, so a bug in one signer cannot
 * hide in both.
 */
export async function signWithHmac(
  payload: string,
  secret: string,
  timestamp = nowSeconds(),
): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    [
      "sign",
    ],
  );
  const mac = new Uint8Array(
    await crypto.subtle.sign("HMAC", key, encoder.encode(`${timestamp}.${payload}`)),
  );
  const hex = Array.from(mac, (byte) => byte.toString(16).padStart(2, "0")).join("");
  return `t=${timestamp},v1=${hex}`;
}

/** A `Stripe-Signature` header made by stripe-node's own test helper. */
export function signWithStripe(
  payload: string,
  secret: string,
  timestamp = nowSeconds(),
): Promise<string> {
  return Stripe.webhooks.generateTestHeaderStringAsync({
    payload,
    secret,
    timestamp,
    cryptoProvider: Stripe.createSubtleCryptoProvider(),
  });
}

/** Unix time in seconds. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Options of {@linkcode postSigned}. */
export interface SignOptions {
  /** Default {@linkcode TEST_SECRET}. */
  readonly secret?: string;
  /** Unix seconds; default now. */
  readonly timestamp?: number;
  /** Which of the two signers makes the header; default `"hmac"`. */
  readonly signer?: "hmac" | "stripe";
}

/** POSTs `body` (JSON-encoded unless a string) to `url`, signed as Stripe signs it. */
export async function postSigned(
  url: string,
  body: unknown,
  { secret = TEST_SECRET, timestamp = nowSeconds(), signer = "hmac" }: SignOptions = {},
): Promise<Response> {
  const payload = typeof body === "string" ? body : JSON.stringify(body);
  const sign = signer === "hmac" ? signWithHmac : signWithStripe;
  return await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "stripe-signature": await sign(payload, secret, timestamp),
    },
    body: payload,
  });
}

/** A running service on 127.0.0.1 and what it logged. */
export interface TestServer extends AsyncDisposable {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly logs: LogRecord[];
  /** POSTs `body` to `/webhook` signed with `secret` (HMAC signer unless told otherwise). */
  postEvent(body: unknown, options?: SignOptions): Promise<Response>;
  /** `GET /decisions/<authorizationId>` with the server's `ADMIN_TOKEN`. */
  decision(authorizationId: string): Promise<Response>;
}

/**
 * Starts the service exactly as `main.ts` wires it (`createService`), with the
 * given environment, on a random loopback port: on `Deno.serve` (as `deno
 * serve` and Deno Deploy run it), or with `listener: "listen"` on the
 * listener `deno task start` uses. Dispose it to stop it.
 */
export async function startTestServer(
  env: Record<string, string> = {},
  options: {
    policies?: readonly Policy[];
    shadowPolicies?: readonly Policy[];
    kv?: Deno.Kv;
    listener?: "Deno.serve" | "listen";
  } = {},
): Promise<TestServer> {
  const logs: LogRecord[] = [];
  const service = await createService(
    new Map(Object.entries({ STRIPE_WEBHOOK_SECRET: TEST_SECRET, KV_PATH: ":memory:", ...env })),
    {
      policies: options.policies ?? referencePipeline,
      policiesDir: POLICIES_DIR,
      serviceVersion: "test",
      log: (record) => logs.push(record),
      kv: options.kv,
      shadowPolicies: options.shadowPolicies,
    },
  );
  const server = options.listener === "listen"
    ? listen({ hostname: "127.0.0.1", port: 0 }, service.fetch)
    : Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, service.fetch);
  const url = `http://127.0.0.1:${server.addr.port}`;
  const webhookPath = env.WEBHOOK_PATH ?? "/webhook";
  return {
    url,
    logs,
    postEvent: (body, sign) => postSigned(`${url}${webhookPath}`, body, sign),
    decision: (authorizationId) =>
      fetch(`${url}/decisions/${authorizationId}`, {
        headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` },
      }),
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await service[Symbol.asyncDispose]();
    },
  };
}

/**
 * Signs in to the dashboard at `base` as a person would (the sign-in form, its
 * CSRF token and cookie, posted from the same origin) and returns the session
 * cookie (`name=value`).
 */
export async function signInToDashboard(base: string, adminToken: string): Promise<string> {
  const form = await fetch(`${base}/dashboard/login`);
  const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())?.[1];
  const formCookie = form.headers.get("set-cookie")?.split(";")[0];
  if (!csrf || !formCookie) throw new Error("the dashboard's sign-in form has no CSRF token");
  const signIn = await fetch(`${base}/dashboard/login`, {
    method: "POST",
    redirect: "manual",
    headers: {
      cookie: formCookie,
      origin: base,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ token: adminToken, csrf }),
  });
  await signIn.body?.cancel();
  const session = signIn.headers.get("set-cookie")?.split(";")[0];
  if (signIn.status !== 303 || !session) throw new Error(`sign-in failed: ${signIn.status}`);
  return session;
}
