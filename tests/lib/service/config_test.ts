import { ConfigError, loadConfig } from "../../../lib/service/config.ts";
import { assert, assertEquals, assertStringIncludes, assertThrows } from "../../_assert.ts";

const env = (entries: Record<string, string>) => new Map(Object.entries(entries));

Deno.test("loadConfig() defaults", () => {
  const config = loadConfig(env({}));
  assertEquals(config.webhookSecrets, []);
  // The development secret, and the README's admin token with it: on this machine only.
  assertEquals([config.port, config.hostname, config.webhookPath], [8000, "127.0.0.1", "/webhook"]);
  assertEquals(loadConfig(env({ STRIPE_WEBHOOK_SECRET: "whsec_a" })).hostname, "0.0.0.0");
  assertEquals(loadConfig(env({ HOSTNAME: "0.0.0.0" })).hostname, "0.0.0.0");
  assertEquals([config.toleranceSeconds, config.maxBodyBytes, config.decisionBudgetMs], [
    300,
    262_144,
    1_500,
  ]);
  assertEquals([config.fallbackDecision, config.apiMode, config.stripeApiVersion], [
    "decline",
    undefined,
    undefined,
  ]);
});

Deno.test("loadConfig() reads a comma-separated secret list for rolling", () => {
  assertEquals(loadConfig(env({ STRIPE_WEBHOOK_SECRET: " whsec_a , whsec_b ,," })).webhookSecrets, [
    "whsec_a",
    "whsec_b",
  ]);
});

Deno.test("loadConfig() refuses bad values with one line naming the variable", async (t) => {
  const cases: [Record<string, string>, string][] = [
    [{ PORT: "70000" }, "PORT must be an integer from 0 to 65535"],
    [{ WEBHOOK_PATH: "webhook" }, 'WEBHOOK_PATH must start with "/"'],
    ...["/webhook ", "/web hook", "/wébhook", "/webhook?x=1", "/webhook/../healthz", "//", "//x"]
      .map(
        (path): [Record<string, string>, string] => [
          { WEBHOOK_PATH: path },
          "WEBHOOK_PATH must be a path as requests carry it",
        ],
      ),
    [{ FALLBACK_DECISION: "maybe" }, 'FALLBACK_DECISION must be "approve" or "decline"'],
    [{ STRIPE_API_VERSION: "latest" }, "STRIPE_API_VERSION must look like"],
    [{ DECISION_BUDGET_MS: "2500" }, "DECISION_BUDGET_MS must be an integer from 1 to 1700"],
    [{ DECISION_BUDGET_MS: "1701" }, "DECISION_BUDGET_MS must be an integer from 1 to 1700"],
    [{ OTEL_DENO: "maybe" }, 'OTEL_DENO must be true or false, got "maybe"'],
    [{ OTEL_DENO: "1" }, 'OTEL_DENO must be true or false, got "1"'],
    [
      { HOSTNAME: "[::1]" },
      "HOSTNAME must be a host name or an IP address (IPv6 without brackets)",
    ],
    [{ DENO_DEPLOYMENT_ID: "abc" }, "STRIPE_WEBHOOK_SECRET is required on Deno Deploy"],
    [{ STRIPE_WEBHOOK_SECRET: " , " }, "STRIPE_WEBHOOK_SECRET holds only commas and spaces"],
    [
      { STRIPE_WEBHOOK_SECRET: "sk_live_oops" },
      "STRIPE_WEBHOOK_SECRET must be the endpoint's signing secret (whsec_…), got an API key (sk_live_…)",
    ],
    [
      { STRIPE_WEBHOOK_SECRET: "whsec_new,we_1Nold" },
      "STRIPE_WEBHOOK_SECRET must be the endpoint's signing secret (whsec_…) (entry 2 of 2)",
    ],
    [{ DECISION_MODE: "both" }, 'DECISION_MODE must be "respond" or "api"'],
    [{ API_MODE_PERCENT: "10" }, "API_MODE_PERCENT applies only with DECISION_MODE=api"],
    [
      { DECISION_MODE: "api", STRIPE_SECRET_KEY: "sk_test_x", API_MODE_PERCENT: "101" },
      "API_MODE_PERCENT must be",
    ],
    [
      { DECISION_MODE: "api", STRIPE_SECRET_KEY: "sk_test_x", STRIPE_API_BASE: "ftp://x" },
      "STRIPE_API_BASE",
    ],
    [
      { DECISION_MODE: "api", STRIPE_SECRET_KEY: "sk_test_x", DECISION_BUDGET_MS: "1700" },
      "must fit in 1800 ms (Stripe's 2,000 ms minus 200 ms for the network)",
    ],
    [
      { DECISION_MODE: "api", STRIPE_SECRET_KEY: "sk_test_x", API_CALL_TIMEOUT_MS: "1700" },
      "API_CALL_TIMEOUT_MS must be an integer from 1 to 1699",
    ],
    [
      { STRIPE_WEBHOOK_SECRET: "whsec_live", ADMIN_TOKEN: "change-me-to-24-or-more-characters" },
      "ADMIN_TOKEN is the README's example, known to anyone who read it",
    ],
    // Each started, and no request could ever present it.
    [
      { ADMIN_TOKEN: "abcdefghijklmnopqrstuvwxyz0123\n" },
      "ADMIN_TOKEN must be visible ASCII characters only",
    ],
    [{ ADMIN_TOKEN: " ".repeat(25) }, "ADMIN_TOKEN must be visible ASCII characters only"],
    [{ PORT: " " }, "PORT must be an integer from 0 to 65535"],
    [{ PORT: "0x1F40" }, "PORT must be an integer from 0 to 65535"],
    [{ DECISION_RETENTION_DAYS: "1e3" }, "DECISION_RETENTION_DAYS must be an integer"],
    [{ HOSTNAME: "not a host" }, "HOSTNAME must be a host name or an IP address"],
    [{ HOSTNAME: "localhost:8000" }, "HOSTNAME must be a host name or an IP address"],
    [{ KV_PATH: "htps://kv.example.com" }, "KV_PATH must be a file, :memory: or a KV Connect URL"],
    [{ KV_PATH: "HTTPS://kv.example.com" }, "a KV Connect URL (https://…, in lower case)"],
    [{ WEBHOOK_PATH: "/decisions" }, "WEBHOOK_PATH must not be one of the service's own routes"],
    [{ WEBHOOK_PATH: "/healthz" }, "WEBHOOK_PATH must not be one of the service's own routes"],
    [{ WEBHOOK_PATH: "/dashboard/login" }, "WEBHOOK_PATH must not be one of the service's own"],
  ];
  for (const [values, message] of cases) {
    await t.step(JSON.stringify(values), () => {
      assertThrows(() => loadConfig(env(values)), ConfigError, message);
    });
  }
  await t.step("a mistyped KV Connect URL is named without its credentials", () => {
    const KV_PATH = "htps://kvuser:kv-secret-0123@kv.example.com/db?token=t0k";
    const message = (() => {
      try {
        loadConfig(env({ KV_PATH }));
      } catch (error) {
        return (error as ConfigError).message;
      }
    })();
    assertStringIncludes(message ?? "", 'got "htps://…@kv.example.com/db?…"');
    assert(!/kvuser|kv-secret|t0k/.test(message ?? ""), message);
  });
});

Deno.test("loadConfig() takes what worked before its checks: IPv6, container names, paths beside the routes, a number with a line end", () => {
  const config = loadConfig(env({ HOSTNAME: "::1", KV_PATH: "https://kv.example.com/abc" }));
  assertEquals([config.hostname, config.kvPath], ["::1", "https://kv.example.com/abc"]);
  assertEquals(loadConfig(env({ HOSTNAME: "3f2a9c1b7d4e" })).hostname, "3f2a9c1b7d4e");
  assertEquals(loadConfig(env({ KV_PATH: "C://data/kv.sqlite3" })).kvPath, "C://data/kv.sqlite3");
  for (const path of ["/stripe/webhook", "/decisions-hook", "/policies/stripe", "/metrics.hook"]) {
    assertEquals(loadConfig(env({ WEBHOOK_PATH: path })).webhookPath, path);
  }
  assertEquals(loadConfig(env({ PORT: "8000\n", DECISION_RETENTION_DAYS: " 30 " })).port, 8000);
  // The quick start's token, with its development secret (no STRIPE_WEBHOOK_SECRET).
  const quickStart = "change-me-to-24-or-more-characters";
  assertEquals(loadConfig(env({ ADMIN_TOKEN: quickStart })).adminToken, quickStart);
});

Deno.test("loadConfig() never echoes a secret key in its errors", () => {
  const key = "sk_live_oops with a space";
  try {
    loadConfig(env({ DECISION_MODE: "api", STRIPE_SECRET_KEY: key }));
    throw new Error("expected a ConfigError");
  } catch (error) {
    assertEquals(error instanceof ConfigError && !error.message.includes("oops"), true);
  }
});

Deno.test("loadConfig() turns telemetry on with OTEL_DENO or on Deno Deploy", () => {
  assertEquals(loadConfig(env({})).telemetry, false);
  assertEquals(loadConfig(env({ OTEL_DENO: "false" })).telemetry, false);
  assertEquals(loadConfig(env({ OTEL_DENO: "true" })).telemetry, true);
  assertEquals(loadConfig(env({ OTEL_DENO: "TRUE" })).telemetry, true, "as Deno reads it");
  assertEquals(
    loadConfig(env({ DENO_DEPLOYMENT_ID: "d1", STRIPE_WEBHOOK_SECRET: "whsec_a" })).telemetry,
    true,
  );
});
