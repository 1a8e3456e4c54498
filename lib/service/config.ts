/**
 * The service's configuration, read once from environment variables.
 *
 * @module
 */
import {
  DEFAULT_API_CALL_TIMEOUT_MS,
  DEFAULT_STRIPE_API_BASE,
  SECRET_KEY_SHAPE,
} from "../http/api_decision_sender.ts";
import { DEFAULT_DECISION_BUDGET_MS } from "../engine/decide.ts";
import { DEFAULT_MAX_BODY_BYTES } from "../http/request_body.ts";
import { DEFAULT_TOLERANCE_SECONDS } from "../http/webhook_verifier.ts";
import { API_VERSION } from "../http/stripe_version.ts";
import { isOwnPath } from "../http/routes.ts";
import { isKvConnectUrl, withoutCredentials } from "../store/kv_path.ts";
import { dirname, resolve } from "node:path";

/** Where decisions and counters live unless `KV_PATH` says otherwise (git-ignored). */
export const DEFAULT_KV_PATH = "data/authorizer.kv.sqlite3";

/** The README quick start's `ADMIN_TOKEN`, refused once real Stripe events come in. */
const README_ADMIN_TOKEN = "change-me-to-24-or-more-characters";

/** Stripe waits this long for an answer, then applies the timeout setting. */
const STRIPE_DEADLINE_MS = 2_000;
/**
 * Of Stripe's 2 s, what the network and Stripe's own clock take around our
 * handler: the request's deadline is 2,000 − 200 = 1,800 ms from arrival.
 */
const NETWORK_MARGIN_MS = 200;
/** The store's commit after the policies stop. */
const STORE_MARGIN_MS = 100;

/** Read-only access to environment variables (`Deno.env` fits). */
export interface Env {
  get(name: string): string | undefined;
}

/** Everything the service reads from its environment, parsed and checked. */
export interface ServiceConfig {
  /** `STRIPE_WEBHOOK_SECRET`, split on commas; empty when unset. */
  readonly webhookSecrets: readonly string[];
  readonly port: number;
  readonly hostname: string;
  readonly webhookPath: string;
  readonly toleranceSeconds: number;
  /** The `Stripe-Version` to answer with; the event's `api_version` when unset. */
  readonly stripeApiVersion?: string;
  readonly maxBodyBytes: number;
  /** The policies' budget (`DECISION_BUDGET_MS`). */
  readonly decisionBudgetMs: number;
  /**
   * From arrival to the answer: the policies' budget, the store's margin and
   * the API call's slice, at most Stripe's 2 s minus {@linkcode NETWORK_MARGIN_MS}.
   */
  readonly answerWithinMs: number;
  readonly fallbackDecision: "approve" | "decline";
  /** Deno's OpenTelemetry is on: `OTEL_DENO=true`, or on Deno Deploy (which traces every request). */
  readonly telemetry: boolean;
  /** On Deno Deploy (`DENO_DEPLOYMENT_ID` set): it runs `main.ts` as `deno run` does, without `--listen`. */
  readonly onDeploy: boolean;
  /** `KV_PATH`: a file, `:memory:`, or a KV Connect URL; `undefined` on Deno Deploy (its managed KV). */
  readonly kvPath?: string;
  /** `DECISION_RETENTION_DAYS`, in ms. */
  readonly retentionMs: number;
  /** `ADMIN_TOKEN`: enables the decision queries. Never logged. */
  readonly adminToken?: string;
  /** `TRUST_PROXY=1`: a TLS-terminating proxy's `X-Forwarded-Proto` is believed (Secure cookies, HSTS). */
  readonly trustProxy: boolean;
  /** Set when `DECISION_MODE=api`: decisions also go through the deprecated API. */
  readonly apiMode?: ApiModeConfig;
}

/** Migration mode settings (`DECISION_MODE=api`). */
export interface ApiModeConfig {
  /** `STRIPE_SECRET_KEY`. Never logged. */
  readonly secretKey: string;
  /** `API_MODE_PERCENT`: share of authorizations that take the API path (default 100). */
  readonly percent: number;
  /** `STRIPE_API_BASE`. */
  readonly apiBase: string;
  /** `API_CALL_TIMEOUT_MS`. */
  readonly timeoutMs: number;
}

/** A configuration problem, with a one-line message fit for start-up output. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * The endpoint secrets in `STRIPE_WEBHOOK_SECRET`: comma-separated, blanks
 * between commas ignored; empty (unset) means the development secret. A value
 * that is not a signing secret would verify no event Stripe sends, and every
 * authorization would get a 400 (Stripe then applies its timeout setting):
 * refused at start-up, never echoed beyond the prefix of an API key in the
 * wrong variable.
 */
function webhookSecretsOf(value: string): string[] {
  const secrets = value.split(",").map((s) => s.trim()).filter(Boolean);
  if (value.trim() !== "" && secrets.length === 0) {
    throw new ConfigError(
      "STRIPE_WEBHOOK_SECRET holds only commas and spaces: set a whsec_… secret",
    );
  }
  for (const [i, secret] of secrets.entries()) {
    if (secret.startsWith("whsec_")) continue;
    const apiKey = /^(sk|rk|pk)_(test|live)_/.exec(secret)?.[0];
    const which = secrets.length > 1 ? ` (entry ${i + 1} of ${secrets.length})` : "";
    throw new ConfigError(
      `STRIPE_WEBHOOK_SECRET must be the endpoint's signing secret (whsec_…)${which}${
        apiKey ? `, got an API key (${apiKey}…): keep API keys out of this variable` : ""
      }`,
    );
  }
  return secrets;
}

/**
 * Parses the service configuration. Throws {@linkcode ConfigError} naming the
 * variable and what was expected; secrets are never echoed.
 *
 * @example
 * ```ts
 * import { loadConfig } from "./config.ts";
 * import { deepEqual, equal } from "node:assert/strict";
 * const config = loadConfig(new Map([["STRIPE_WEBHOOK_SECRET", "whsec_a,whsec_b"], ["PORT", "9000"]]));
 * deepEqual(config.webhookSecrets, ["whsec_a", "whsec_b"]);
 * equal(config.port, 9000);
 * equal(config.webhookPath, "/webhook");
 * ```
 */
export function loadConfig(env: Env): ServiceConfig {
  const webhookSecrets = webhookSecretsOf(env.get("STRIPE_WEBHOOK_SECRET") ?? "");
  const deploymentId = env.get("DENO_DEPLOYMENT_ID") || undefined;
  if (deploymentId && webhookSecrets.length === 0) {
    throw new ConfigError(
      "STRIPE_WEBHOOK_SECRET is required on Deno Deploy (set it in the app's environment variables)",
    );
  }
  const webhookPath = env.get("WEBHOOK_PATH") ?? "/webhook";
  if (!webhookPath.startsWith("/")) {
    throw new ConfigError(
      `WEBHOOK_PATH must start with "/", got ${JSON.stringify(webhookPath)}`,
    );
  }
  if (!isRequestPath(webhookPath)) {
    throw new ConfigError(
      `WEBHOOK_PATH must be a path as requests carry it (no spaces, query, "..", "//" or unencoded non-ASCII), got ${
        JSON.stringify(webhookPath)
      }`,
    );
  }
  if (isOwnPath(webhookPath)) {
    throw new ConfigError(
      `WEBHOOK_PATH must not be one of the service's own routes (/healthz, /dashboard, the admin API), got ${
        JSON.stringify(webhookPath)
      }`,
    );
  }
  const fallbackDecision = env.get("FALLBACK_DECISION") ?? "decline";
  if (fallbackDecision !== "approve" && fallbackDecision !== "decline") {
    throw new ConfigError(
      `FALLBACK_DECISION must be "approve" or "decline", got ${JSON.stringify(fallbackDecision)}`,
    );
  }
  const stripeApiVersion = env.get("STRIPE_API_VERSION") || undefined;
  if (
    stripeApiVersion !== undefined &&
    !API_VERSION.test(stripeApiVersion)
  ) {
    throw new ConfigError(
      `STRIPE_API_VERSION must look like 2026-07-29.dahlia, got ${
        JSON.stringify(stripeApiVersion)
      }`,
    );
  }
  const apiMode = apiModeConfig(env);
  // One deadline from arrival: the policies, the store's commit and the API call must fit in it.
  const withinMs = STRIPE_DEADLINE_MS - NETWORK_MARGIN_MS;
  const apiSliceMs = apiMode?.timeoutMs ?? 0;
  const decisionBudgetMs = integer(
    env,
    "DECISION_BUDGET_MS",
    Math.min(DEFAULT_DECISION_BUDGET_MS, withinMs - STORE_MARGIN_MS - apiSliceMs),
    1,
    withinMs - STORE_MARGIN_MS,
  );
  const answerWithinMs = decisionBudgetMs + STORE_MARGIN_MS + apiSliceMs;
  if (answerWithinMs > withinMs) {
    throw new ConfigError(
      `DECISION_BUDGET_MS + ${STORE_MARGIN_MS} ms for the store${
        apiMode ? " + API_CALL_TIMEOUT_MS" : ""
      } (${decisionBudgetMs} + ${STORE_MARGIN_MS}${
        apiMode ? ` + ${apiSliceMs}` : ""
      } ms) must fit in ${withinMs} ms (Stripe's 2,000 ms minus ${NETWORK_MARGIN_MS} ms for the network)`,
    );
  }
  const kvPath = env.get("KV_PATH") || (deploymentId ? undefined : DEFAULT_KV_PATH);
  // A mistyped KV Connect URL (`htps://…`) would otherwise open a local file of that name.
  if (kvPath !== undefined && /^[a-z][a-z0-9+.-]+:\/\//i.test(kvPath) && !isKvConnectUrl(kvPath)) {
    throw new ConfigError(
      `KV_PATH must be a file, :memory: or a KV Connect URL (https://…, in lower case), got ${
        JSON.stringify(withoutCredentials(kvPath))
      }`,
    );
  }
  if (deploymentId && kvPath !== undefined && !isKvConnectUrl(kvPath)) {
    throw new ConfigError(
      "KV_PATH on Deno Deploy must be unset (its managed KV) or a KV Connect URL, not a file",
    );
  }
  const adminToken = env.get("ADMIN_TOKEN") || undefined;
  if (adminToken !== undefined && adminToken.length < 24) {
    throw new ConfigError("ADMIN_TOKEN must be at least 24 characters (e.g. openssl rand -hex 24)");
  }
  // A line break or space copied in with it would never match: HTTP trims a header's value, and
  // refuses control characters in it.
  if (adminToken !== undefined && !/^[!-~]+$/.test(adminToken)) {
    throw new ConfigError(
      "ADMIN_TOKEN must be visible ASCII characters only (no spaces, line breaks, control or non-ASCII characters)",
    );
  }
  // The quick start's token is public: fine for simulated decisions, not beside Stripe's events.
  if (adminToken === README_ADMIN_TOKEN && webhookSecrets.length > 0) {
    throw new ConfigError(
      "ADMIN_TOKEN is the README's example, known to anyone who read it: with STRIPE_WEBHOOK_SECRET set, use a random one (e.g. openssl rand -hex 24)",
    );
  }
  const trustProxy = env.get("TRUST_PROXY") ?? "";
  if (!["", "0", "1"].includes(trustProxy)) {
    throw new ConfigError(`TRUST_PROXY must be 1 or 0, got ${JSON.stringify(trustProxy)}`);
  }
  // Deno reads it too, and takes only these, in any case (anything else: a warning, and no tracing).
  const otel = (env.get("OTEL_DENO") ?? "").toLowerCase();
  if (!["", "false", "true"].includes(otel)) {
    throw new ConfigError(`OTEL_DENO must be true or false, got ${JSON.stringify(otel)}`);
  }
  return {
    trustProxy: trustProxy === "1",
    telemetry: deploymentId !== undefined || otel === "true",
    onDeploy: deploymentId !== undefined,
    kvPath,
    retentionMs: integer(env, "DECISION_RETENTION_DAYS", 90, 1, 3_650) * 86_400_000,
    adminToken,
    apiMode,
    decisionBudgetMs,
    answerWithinMs,
    webhookSecrets,
    port: integer(env, "PORT", 8000, 0, 65_535),
    hostname: hostnameOf(env, webhookSecrets.length === 0),
    webhookPath,
    toleranceSeconds: integer(
      env,
      "STRIPE_SIGNATURE_TOLERANCE_SECONDS",
      DEFAULT_TOLERANCE_SECONDS,
      1,
      86_400,
    ),
    stripeApiVersion,
    maxBodyBytes: integer(
      env,
      "MAX_BODY_BYTES",
      DEFAULT_MAX_BODY_BYTES,
      1_024,
      16 * 1024 * 1024,
    ),
    fallbackDecision,
  };
}

function apiModeConfig(env: Env): ApiModeConfig | undefined {
  const mode = env.get("DECISION_MODE") || "respond";
  if (mode !== "respond" && mode !== "api") {
    throw new ConfigError(`DECISION_MODE must be "respond" or "api", got ${JSON.stringify(mode)}`);
  }
  if (mode === "respond") {
    for (const name of ["API_MODE_PERCENT", "STRIPE_API_BASE", "API_CALL_TIMEOUT_MS"]) {
      if (env.get(name)) throw new ConfigError(`${name} applies only with DECISION_MODE=api`);
    }
    return undefined;
  }
  const secretKey = env.get("STRIPE_SECRET_KEY") ?? "";
  if (!SECRET_KEY_SHAPE.test(secretKey)) {
    // Never echo the value: it may be a real key with a typo.
    const got = secretKey === ""
      ? ""
      : secretKey.startsWith("pk_")
      ? ": the one set is a publishable key (pk_…)"
      : ": the one set is not of that form";
    throw new ConfigError(
      `DECISION_MODE=api needs STRIPE_SECRET_KEY, a secret (sk_…) or restricted (rk_…) key${got}`,
    );
  }
  const apiBase = env.get("STRIPE_API_BASE") || DEFAULT_STRIPE_API_BASE;
  if (!URL.canParse(apiBase) || !/^https?:$/.test(new URL(apiBase).protocol)) {
    throw new ConfigError(`STRIPE_API_BASE must be an http(s) URL, got ${JSON.stringify(apiBase)}`);
  }
  return {
    secretKey,
    percent: integer(env, "API_MODE_PERCENT", 100, 0, 100),
    apiBase,
    // At most what leaves the policies 1 ms of Stripe's 2 s, after the network's and the store's share.
    timeoutMs: integer(
      env,
      "API_CALL_TIMEOUT_MS",
      DEFAULT_API_CALL_TIMEOUT_MS,
      1,
      STRIPE_DEADLINE_MS - NETWORK_MARGIN_MS - STORE_MARGIN_MS - 1,
    ),
  };
}

/**
 * Whether a request's URL can have `path` as its path: the server matches the
 * parsed URL's `pathname`, which never holds a space, a query, a dot segment
 * or a raw non-ASCII character, so a `WEBHOOK_PATH` with one would never be
 * reached, and every authorization would go to Stripe's timeout setting.
 */
function isRequestPath(path: string): boolean {
  try {
    return !path.includes("//") && new URL(path, "http://localhost").pathname === path;
  } catch {
    return false;
  }
}

/**
 * `HOSTNAME`: an interface name or address to listen on (an IPv6 one without
 * brackets). By default every interface; with the development secret
 * (`developing`) only loopback, where `stripe listen` and a browser on this
 * machine reach it: the quick start's admin token is in the README, and its
 * dashboard should not be open to the network.
 */
function hostnameOf(env: Env, developing: boolean): string {
  const hostname = env.get("HOSTNAME") || (developing ? "127.0.0.1" : "0.0.0.0");
  const url = `http://${hostInUrl(hostname)}/`;
  if (!URL.canParse(url) || new URL(url).port !== "") {
    throw new ConfigError(
      `HOSTNAME must be a host name or an IP address (IPv6 without brackets), got ${
        JSON.stringify(hostname)
      }`,
    );
  }
  return hostname;
}

/**
 * A host name or address as a URL holds it: an IPv6 address in brackets.
 *
 * @example
 * ```ts
 * import { hostInUrl } from "./config.ts";
 * import { equal } from "node:assert/strict";
 * equal(hostInUrl("::1"), "[::1]");
 * equal(hostInUrl("0.0.0.0"), "0.0.0.0");
 * ```
 */
export function hostInUrl(hostname: string): string {
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

function integer(
  env: Env,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = env.get(name);
  if (raw === undefined || raw === "") return fallback;
  // Digits only (spaces and a line end around them aside): Number() would also take " " (0),
  // "0x1F40" and "1e3".
  const value = /^[0-9]+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(
      `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

/**
 * A task's `deno run …` command, as deno.json has it, with read and write
 * access widened to the folder of the KV file `kvPath`: what to run for a
 * store outside `./data`, which is all the tasks' permissions cover.
 *
 * @example
 * ```ts
 * import { commandForKvFile } from "./config.ts";
 * import { equal } from "node:assert/strict";
 * equal(
 *   commandForKvFile(
 *     "deno run --allow-env --allow-read=./data --allow-write=./data tasks/export.ts",
 *     "/srv/kv/authorizer.sqlite3",
 *   ),
 *   "deno run --allow-env --allow-read=./data,/srv/kv --allow-write=./data,/srv/kv tasks/export.ts",
 * );
 * // Quoted for the shell it is pasted into when the folder needs it.
 * equal(
 *   commandForKvFile("deno run --allow-read=./data main.ts", "/srv/my kv/a.sqlite3"),
 *   "deno run '--allow-read=./data,/srv/my kv' main.ts",
 * );
 * ```
 */
export function commandForKvFile(command: string, kvPath: string): string {
  const folder = dirname(resolve(kvPath));
  return command.split(" ")
    .map((arg) => /^--allow-(read|write)=/.test(arg) ? shellWord(`${arg},${folder}`) : arg)
    .join(" ");
}

/** `word` as a POSIX shell reads it back: quoted when it holds anything but plain path characters. */
function shellWord(word: string): string {
  return /^[\w./,:=+@%-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}
