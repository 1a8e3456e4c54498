/**
 * Assembles the service from its configuration and policy set: what `main.ts`
 * calls, and what tests call to run the same wiring on a random port.
 *
 * @module
 */
import { bearerTokenCheck } from "../http/admin_token.ts";
import { createApiDecisionSender } from "../http/api_decision_sender.ts";
import { type App, type AppOptions, createApp } from "../http/app.ts";
import { ConfigError, type Env, loadConfig, type ServiceConfig } from "./config.ts";
import { createDecide } from "../engine/decide.ts";
import { createDecisionStore } from "../store/decision_store.ts";
import { dashboardDisabled } from "../dashboard/disabled.ts";
import { createKvHealth } from "../store/health.ts";
import { kvSessionRecords } from "../store/sessions.ts";
import { openKv, withoutCredentials } from "../store/kv_path.ts";
import { DEV_SECRET_PATH, loadOrCreateDevSecret } from "./dev_secret.ts";
import { jsonLineLogger, type Logger } from "../telemetry/log.ts";
import { createMetrics } from "../telemetry/metrics.ts";
import { describePipeline, type Policy } from "../engine/policy.ts";
import { computePolicyVersion } from "./policy_version.ts";
import { DEFAULT_BODY_READ_TIMEOUT_MS } from "../http/request_body.ts";
import { createWebhookVerifier } from "../http/webhook_verifier.ts";

/** What {@linkcode createService} needs besides the environment. */
export interface ServiceOptions {
  /** The pipeline to enforce, e.g. `defaultPipeline` from `policies/mod.ts`. */
  readonly policies: readonly Policy[];
  /** A pipeline to evaluate beside it and log, never enforced (`policies/shadow.ts`). */
  readonly shadowPolicies?: readonly Policy[];
  /** The folder the policies come from; its content hash is the policy version. */
  readonly policiesDir: URL;
  /** The service's own version, for `/healthz`. */
  readonly serviceVersion: string;
  /** Defaults to JSON lines on stdout/stderr. */
  readonly log?: Logger;
  /** An open KV to use instead of opening `KV_PATH` (tests inject slow or failing ones). */
  readonly kv?: Deno.Kv;
}

/**
 * A ready service: its handler and the configuration it was built from.
 * Disposing it stops it (`stop()`).
 */
export interface Service extends App, AsyncDisposable {
  readonly config: ServiceConfig;
  /**
   * Waits (4 s at most in all) for `requestsAnswered` and for what was
   * answered while the store could not commit, logs what never landed
   * (`store_unrecorded`), then closes the store. Resolves with how many
   * answers are not in the log. Called again, it waits for the same stop.
   */
  stop(requestsAnswered?: Promise<unknown>): Promise<number>;
}

/**
 * Reads the configuration from `env`, resolves the webhook secret(s) (a local
 * development secret when none is set and not on Deno Deploy), fixes the
 * policy version and builds the handler. Throws `ConfigError` or `TypeError`
 * with a one-line reason on bad configuration.
 *
 * @example
 * ```ts
 * import { createService } from "./service.ts";
 * import { defaultPipeline } from "../../policies/mod.ts";
 * import { authorizationEvent } from "../../fixtures/events.ts";
 * import { equal } from "node:assert/strict";
 * const secret = "whsec_example";
 * await using service = await createService(
 *   new Map([["STRIPE_WEBHOOK_SECRET", secret], ["KV_PATH", ":memory:"]]),
 *   {
 *     policies: defaultPipeline,
 *     policiesDir: new URL("../../policies/", import.meta.url),
 *     serviceVersion: "0.1.0",
 *     log: () => {},
 *   },
 * );
 * // Signed as Stripe signs: HMAC-SHA256 of "<timestamp>.<body>", hex.
 * const body = JSON.stringify(authorizationEvent());
 * const t = Math.floor(Date.now() / 1000);
 * const utf8 = new TextEncoder();
 * const key = await crypto.subtle.importKey("raw", utf8.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
 * const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8.encode(`${t}.${body}`)));
 * const v1 = Array.from(mac, (byte) => byte.toString(16).padStart(2, "0")).join("");
 * const response = await service.fetch(new Request("http://localhost/webhook", {
 *   method: "POST", headers: { "stripe-signature": `t=${t},v1=${v1}` }, body,
 * }));
 * equal(response.status, 200);
 * equal((await response.json()).approved, true);
 * // Deno.serve({ port: service.config.port }, service.fetch);
 * ```
 */
export async function createService(
  env: Env,
  options: ServiceOptions,
): Promise<Service> {
  const config = loadConfig(env);
  const log = options.log ?? jsonLineLogger();
  let secrets = config.webhookSecrets;
  if (secrets.length === 0) {
    const { secret, created } = await loadOrCreateDevSecret(DEV_SECRET_PATH);
    secrets = [secret];
    log({
      level: "warn",
      msg: `STRIPE_WEBHOOK_SECRET is not set: using the local development secret ${
        created ? "just created in" : "from"
      } ${DEV_SECRET_PATH}. For real events run the \`stripe listen\` command the \`listening\` line gives (its \`forward\`) and set STRIPE_WEBHOOK_SECRET to the whsec_… it prints.`,
    });
  }
  const policyVersion = await computePolicyVersion(options.policiesDir);
  // The live and the shadow pipeline, alike but for what their fallbacks log as.
  const pipeline = (policies: readonly Policy[], fallbackMsg: string) =>
    createDecide(policies, {
      policyVersion,
      budgetMs: config.decisionBudgetMs,
      fallback: config.fallbackDecision,
      onFallback: ({ kind, policy, authorizationId, error }) =>
        log({
          level: "error",
          msg: fallbackMsg,
          kind,
          policy,
          authorization_id: authorizationId,
          error,
        }),
    });
  const decide = pipeline(options.policies, "policy_fallback");
  const { apiMode } = config;
  if (apiMode) {
    log({
      level: "warn",
      msg:
        `DECISION_MODE=api: ${apiMode.percent}% of decisions go through Stripe's deprecated approve/decline API. ` +
        `See the README section "Migrating from the API-call flow".`,
    });
  }
  const verify = createWebhookVerifier({
    secrets,
    toleranceSeconds: config.toleranceSeconds,
  });
  const kv = options.kv ?? await openConfiguredKv(config.kvPath);
  const metrics = createMetrics();
  const store = createDecisionStore({
    kv,
    decide,
    shadowDecide: options.shadowPolicies &&
      pipeline(options.shadowPolicies, "shadow_policy_fallback"),
    metrics,
    log,
    retentionMs: config.retentionMs,
  });
  const adminRoutes = config.adminToken
    ? await adminAndDashboard(config.adminToken)
    : dashboardDisabled;
  // Loaded only with an admin token: a webhook-only instance starts without them.
  async function adminAndDashboard(adminToken: string) {
    const [{ createAdminApi }, { createDashboard }, { createOverviewReader }, { Pacer }] =
      await Promise.all([
        import("../ops/admin_api.ts"),
        import("../dashboard/mod.ts"),
        import("../ops/decision_queries.ts"),
        import("../ops/pacer.ts"),
      ]);
    const isAdmin = bearerTokenCheck(adminToken);
    const pipeline = { version: policyVersion, policies: describePipeline(options.policies) };
    const shadowPipeline = options.shadowPolicies &&
      { version: policyVersion, policies: describePipeline(options.shadowPolicies) };
    const overview = createOverviewReader({ kv, store });
    // One queue for every read of the log, however it comes: their share of the thread is bounded.
    const pacer = new Pacer();
    const api = createAdminApi({ store, overview, metrics, isAdmin, pipeline, pacer, log });
    const dashboard = createDashboard({
      store,
      overview,
      adminToken,
      isAdmin,
      pipeline,
      shadowPipeline,
      log,
      metrics,
      sessions: kvSessionRecords(kv),
      trustProxy: config.trustProxy,
      pacer,
    });
    return (request: Request, url: URL) => api(request, url) ?? dashboard(request, url);
  }
  const app = createApp({
    verify,
    store,
    metrics,
    annotateSpan: config.telemetry ? await spanAnnotator() : undefined,
    admin: adminRoutes,
    health: createKvHealth({ kv, path: config.kvPath, log }),
    log,
    webhookPath: config.webhookPath,
    stripeApiVersion: config.stripeApiVersion,
    maxBodyBytes: config.maxBodyBytes,
    bodyReadTimeoutMs: DEFAULT_BODY_READ_TIMEOUT_MS,
    answerWithinMs: config.answerWithinMs,
    versions: { service: options.serviceVersion, policies: policyVersion },
    apiMode: apiMode && {
      percent: apiMode.percent,
      timeoutMs: apiMode.timeoutMs,
      send: createApiDecisionSender({
        secretKey: apiMode.secretKey,
        apiBase: apiMode.apiBase,
        timeoutMs: apiMode.timeoutMs,
      }),
    },
  });
  let stopped: Promise<number> | undefined;
  // What was answered while the store could not commit gets its last chance before the KV closes.
  const stop = (requestsAnswered?: Promise<unknown>) =>
    stopped ??= store.stop(requestsAnswered).finally(() => kv.close());
  return {
    config,
    fetch: app.fetch,
    stop,
    [Symbol.asyncDispose]: async () => void await stop(),
  };
}

/**
 * Opens Deno KV once: a file (its folder created), `:memory:`, a KV Connect
 * URL, or with no path Deno Deploy's managed KV. Fails with what and where.
 */
async function openConfiguredKv(path: string | undefined): Promise<Deno.Kv> {
  try {
    return await openKv(path);
  } catch (error) {
    throw new ConfigError(
      // Deno KV's own message names the URL too, credentials and all.
      withoutCredentials(
        `Cannot open Deno KV at ${JSON.stringify(path ?? "(Deno Deploy)")}: ${
          error instanceof Error ? error.message : error
        }`,
      ),
    );
  }
}

/**
 * A function that adds the decision's attributes to the request span Deno's
 * OpenTelemetry made. `@opentelemetry/api` is loaded only when telemetry is
 * on: it is slow to load, and start-up counts (see the cold start in
 * BENCHMARKS.md).
 */
async function spanAnnotator(): Promise<NonNullable<AppOptions["annotateSpan"]>> {
  const { trace } = await import("@opentelemetry/api");
  return (attributes) => trace.getActiveSpan()?.setAttributes(attributes);
}
