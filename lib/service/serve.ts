/**
 * `deno task start`: the service on its own listener, with a warning when the
 * process may run out of descriptors, and a graceful stop on SIGINT/SIGTERM.
 * (`deno serve` and Deno Deploy run `main.ts`'s default export instead.)
 *
 * @module
 */
import { freeDescriptors, listen, type Listener, RESERVED_DESCRIPTORS } from "../http/listen.ts";
import { jsonLineLogger, type Logger } from "../telemetry/log.ts";
import { hostInUrl } from "./config.ts";
import type { Service } from "./service.ts";

/** With fewer free descriptors than this at start, a warning says so: about as many idle sockets would fill them. */
const LOW_FREE_DESCRIPTORS = 1_024;

/**
 * Listens on the service's `hostname:port` with {@linkcode listen} and logs
 * `listening`, a one-line warning when the open-file limit is low, accept
 * failures and slow connections closed. Returns the listener; on SIGINT or
 * SIGTERM it finishes the requests in flight, closes the service and exits.
 * With telemetry on, each request gets the server span `Deno.serve` would
 * have made (Deno instruments only its own server).
 *
 * @example
 * ```ts
 * import { serveService } from "./serve.ts";
 * // const listener = await serveService(service); // logs {"msg":"listening","url":"http://0.0.0.0:8000/webhook"}
 * ```
 */
export async function serveService(
  service: Service,
  log: Logger = jsonLineLogger(),
): Promise<Listener> {
  const { port, hostname, webhookPath } = service.config;
  const free = freeDescriptors(LOW_FREE_DESCRIPTORS);
  // Few descriptors: serve at most that many connections less a reserve for the KV and API calls;
  // the rest wait in the kernel's backlog instead of starving the store.
  const maxConnections = free !== undefined && free < LOW_FREE_DESCRIPTORS
    ? Math.max(1, free - RESERVED_DESCRIPTORS)
    : undefined;
  if (maxConnections !== undefined) {
    log({
      level: "warn",
      msg:
        `only ${free} file descriptors free (open-file limit too low): serving at most ${maxConnections} connections at once; raise the limit (ulimit -n, systemd LimitNOFILE=) or cap connections in a front proxy (SECURITY.md)`,
    });
  }
  const listener = listen({
    hostname,
    port,
    maxConnections,
    onEvent: (event) =>
      event.kind === "accept_failed"
        ? log({
          level: "error",
          msg: "accept_failed",
          error: event.error,
          retry_in_ms: event.retryInMs,
        })
        : log({ level: "warn", msg: "headers_timeout", open_connections: event.open }),
  }, service.config.telemetry ? await withServerSpans(service.fetch) : service.fetch);
  log({
    level: "info",
    msg: "listening",
    url: new URL(webhookPath, `http://${hostInUrl(listener.addr.hostname)}:${listener.addr.port}`)
      .href,
  });
  // Finish the requests in flight, then exit (which also flushes OpenTelemetry).
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, async () => {
      await listener.shutdown();
      await service[Symbol.asyncDispose]();
      Deno.exit(0);
    });
  }
  return listener;
}

/**
 * Wraps `handler` so each request runs in an OpenTelemetry server span named
 * after its method, with the attributes Deno's own `Deno.serve` span carries
 * (HTTP semantic conventions). `@opentelemetry/api` loads only when tracing is
 * on, as in `service.ts`.
 */
async function withServerSpans(
  handler: (request: Request) => Promise<Response>,
): Promise<(request: Request) => Promise<Response>> {
  const { SpanKind, SpanStatusCode, trace } = await import("@opentelemetry/api");
  const tracer = trace.getTracer("issuing-authorizer");
  return (request) => {
    const url = new URL(request.url);
    return tracer.startActiveSpan(request.method, {
      kind: SpanKind.SERVER,
      attributes: {
        "http.request.method": request.method,
        "url.full": request.url,
        "url.path": url.pathname,
        "url.scheme": url.protocol.slice(0, -1),
      },
    }, async (span) => {
      try {
        const response = await handler(request);
        span.setAttribute("http.response.status_code", response.status);
        if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        return response;
      } finally {
        span.end();
      }
    });
  };
}
