/**
 * Traces: with `OTEL_DENO=true`, Deno's built-in OpenTelemetry exports each
 * request's span, and the decision's attributes are on it. A collector on
 * loopback receives OTLP/JSON from the real service.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { postSigned, TEST_SECRET } from "./_helpers.ts";
import { freePort, spawnService, startTaskArgs } from "./_process.ts";
import { SCENARIOS } from "../fixtures/events.ts";

interface OtlpAttribute {
  key: string;
  value: {
    stringValue?: string;
    boolValue?: boolean;
    intValue?: string;
    arrayValue?: { values: { stringValue: string }[] };
  };
}

Deno.test("each decision adds its attributes to the request span", async () => {
  const exported: string[] = [];
  const collector = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      if (new URL(request.url).pathname === "/v1/traces") exported.push(await request.text());
      else await request.body?.cancel();
      return Response.json({});
    },
  );
  try {
    const port = freePort();
    const server = await spawnService(startTaskArgs(), {
      STRIPE_WEBHOOK_SECRET: TEST_SECRET,
      OTEL_DENO: "true",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collector.addr.port}`,
    }, port);
    const response = await postSigned(`${server.url}/webhook`, SCENARIOS.gambling);
    await response.body?.cancel();
    // With tracing on too, a Host header no URL holds is the app's 400 (the span parsed the URL
    // first, and answered 500).
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(
      new TextEncoder().encode("GET /healthz HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n"),
    );
    const raw = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
    assertMatch(raw, /^HTTP\/1\.1 400/);
    await server.stop(); // SIGTERM: the service drains, exits, and flushes its telemetry

    const spans = exported.flatMap((body) =>
      JSON.parse(body).resourceSpans.flatMap((
        resource: { scopeSpans: { spans: { attributes: OtlpAttribute[] }[] }[] },
      ) => resource.scopeSpans.flatMap((scope) => scope.spans))
    );
    const decided = spans.find((span: { attributes: OtlpAttribute[] }) =>
      span.attributes.some((attribute) => attribute.key === "issuing.authorization_id")
    );
    assert(decided, `a span with the decision among ${spans.length} exported`);
    const attributes = new Map<string, OtlpAttribute["value"]>(
      decided.attributes.map((attribute: OtlpAttribute) => [attribute.key, attribute.value]),
    );
    assertEquals(attributes.get("issuing.authorization_id")?.stringValue, "iauth_gambling");
    assertEquals(attributes.get("issuing.approved")?.boolValue, false);
    assertEquals(
      attributes.get("issuing.reasons")?.arrayValue?.values.map((value) => value.stringValue),
      [
        "mcc_blocked:betting_casino_gambling",
      ],
    );
    assertEquals(attributes.get("issuing.decision_path")?.stringValue, "respond");
    assertEquals(
      attributes.get("http.request.method")?.stringValue,
      "POST",
      "the request span Deno made",
    );
  } finally {
    await collector.shutdown();
  }
});
