/**
 * Serving the service, with a graceful stop on SIGINT/SIGTERM: `deno task
 * start` on its own listener, with a warning when the process may run out of
 * descriptors; Deno Deploy on `Deno.serve`, which it routes requests to; and
 * `deno serve`, which runs `main.ts`'s default export.
 *
 * @module
 */
import { freeDescriptors, listen, type Listener, RESERVED_DESCRIPTORS } from "../http/listen.ts";
import { jsonLineLogger, type Logger } from "../telemetry/log.ts";
import { jsonResponse } from "../http/json_response.ts";
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
 * // const listener = await serveService(service); // logs {"msg":"listening","url":"http://0.0.0.0:8000/webhook"} (and `forward`)
 * ```
 */
export async function serveService(
  service: Service,
  log: Logger = jsonLineLogger(),
): Promise<Listener> {
  const { port, hostname } = service.config;
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
    onEvent: (event) => {
      if (event.kind === "accept_failed") {
        log({
          level: "error",
          msg: "accept_failed",
          error: event.error,
          retry_in_ms: event.retryInMs,
        });
      } else if (event.kind === "handler_failed") {
        log({ level: "error", msg: "internal_error", error: event.error });
      } else log({ level: "warn", msg: "headers_timeout", open_connections: event.open });
    },
  }, service.config.telemetry ? await withServerSpans(service.fetch) : service.fetch);
  logListening(service, listener.addr, log);
  stopOnSignals(service, log, () => listener.shutdown(), () => Deno.exit(0));
  return listener;
}

/**
 * Logs `listening` for a server at `addr`: its webhook's URL and, with the
 * development secret, the `stripe listen` command that forwards real events
 * to it. The port is the one listened on: under `deno serve`, `--port`'s,
 * not `PORT`'s.
 */
function logListening(service: Service, addr: Deno.NetAddr, log: Logger): void {
  const { webhookPath, webhookSecrets } = service.config;
  log({
    level: "info",
    msg: "listening",
    url: new URL(webhookPath, `http://${hostInUrl(addr.hostname)}:${addr.port}`).href,
    ...(webhookSecrets.length === 0
      ? { forward: `stripe listen --forward-to localhost:${addr.port}${webhookPath}` }
      : {}),
  });
}

/**
 * On Deno Deploy, which runs `main.ts` as `deno run` does ("the file path
 * that you would pass locally to `deno run`", Deploy's getting-started guide)
 * and routes requests to `Deno.serve` ("use the built-in `Deno.serve()`",
 * its migration guide): serves the service there, and stops as
 * {@linkcode serveService} does on the SIGINT Deploy sends before it stops an
 * instance ("the application has 5 seconds to shut down gracefully").
 *
 * @example
 * ```ts
 * import { serveOnDeploy } from "./serve.ts";
 * // if (service.config.onDeploy) serveOnDeploy(service);
 * ```
 */
export function serveOnDeploy(
  service: Service,
  log: Logger = jsonLineLogger(),
): Deno.HttpServer {
  const server = Deno.serve({
    onListen: ({ hostname, port }) => log({ level: "info", msg: "listening", hostname, port }),
  }, service.fetch);
  stopOnSignals(service, log, () => server.shutdown(), () => Deno.exit(0));
  return server;
}

/**
 * What `main.ts` exports for `deno serve` (one worker, or each of
 * `--parallel`'s). Its `fetch` is the service's, with the stop
 * {@linkcode serveService} makes; its `onListen` logs `listening` as
 * {@linkcode serveService} does (once, from the first worker, under
 * `--parallel`), in place of `deno serve`'s own line. On SIGINT or SIGTERM
 * `deno serve` stops taking connections itself (from Deno 2.9:
 * denoland/deno#32862, March 2026); the requests in flight and what was
 * answered while the store could not commit get 4 s at most from the signal,
 * `stopped` is logged, the store closes, and the worker then ends by itself,
 * the process once every worker has. Not `Deno.exit`: in one worker it would
 * end the whole process, and its siblings' stops with it. A request counts as
 * answered once its `Response` is made: an export still streaming its rows is
 * cut short when the store closes (its client sees the transfer break). On an
 * older Deno, where listening for the signals would keep `deno serve` serving
 * on a closed store, the signal ends the process at once, as it always did
 * there.
 *
 * @example
 * ```ts
 * import { exportForServe } from "./serve.ts";
 * // export default exportForServe(service);
 * ```
 */
export function exportForServe(
  service: Service,
  log: Logger = jsonLineLogger(),
): Deno.ServeDefaultExport {
  // `deno serve --unix-socket` listens on a path: no URL, and no `stripe listen` to it.
  const onListen = (addr: Deno.Addr) =>
    "hostname" in addr
      ? logListening(service, addr, log)
      : log({ level: "info", msg: "listening", address: addr });
  const fetch = service.config.webhookSecrets.length === 0
    ? onlyFromThisMachine(service.fetch)
    : service.fetch;
  const [major, minor] = Deno.version.deno.split(".").map(Number);
  if (major < 2 || (major === 2 && minor < 9)) return { fetch, onListen };
  let inFlight = 0;
  let stopping = false;
  const { promise: requestsAnswered, resolve: allAnswered } = Promise.withResolvers<void>();
  const stopped = stopOnSignals(service, log, () => {
    stopping = true;
    if (inFlight === 0) allAnswered();
    return requestsAnswered;
  }, () => stopped.removeListeners());
  return {
    fetch(request, info) {
      inFlight++;
      return fetch(request, info).finally(() => {
        if (--inFlight === 0 && stopping) allAnswered();
      });
    },
    onListen,
  };
}

/**
 * `fetch`, answering only requests from this machine: with the development
 * secret (no `STRIPE_WEBHOOK_SECRET`), `deno task start` listens on loopback
 * only (the quick start's admin token is in the README), but `deno serve`
 * listens where its `--host` says, every interface by default. Others get a
 * 403 that says what to do.
 *
 * @example
 * ```ts
 * import { onlyFromThisMachine } from "./serve.ts";
 * import { equal } from "node:assert/strict";
 * const fetch = onlyFromThisMachine(() => Promise.resolve(new Response("ok")));
 * const from = (hostname: string) => ({ remoteAddr: { transport: "tcp" as const, hostname, port: 1 } }) as never;
 * equal((await fetch(new Request("http://host/"), from("127.0.0.1"))).status, 200);
 * equal((await fetch(new Request("http://host/"), from("192.0.2.7"))).status, 403);
 * ```
 */
export function onlyFromThisMachine(
  fetch: (request: Request) => Promise<Response>,
): (request: Request, info?: Deno.ServeHandlerInfo) => Promise<Response> {
  return (request, info) => {
    const peer = info?.remoteAddr;
    if (!peer || peer.transport !== "tcp" || isLoopback(peer.hostname)) return fetch(request);
    return Promise.resolve(jsonResponse({
      error:
        "with the development secret only this machine is answered: set STRIPE_WEBHOOK_SECRET, or serve with --host 127.0.0.1",
    }, 403));
  };
}

/** Whether `hostname` is a loopback address (IPv4's 127/8, IPv6's ::1, or 127/8 mapped into IPv6). */
function isLoopback(hostname: string): boolean {
  return /^(127\.|::ffff:127\.)/i.test(hostname) || hostname === "::1";
}

const STOP_SIGNALS = ["SIGINT", "SIGTERM"] as const;

/**
 * On SIGINT or SIGTERM: stop taking requests (`drain` starts it and resolves
 * once those in flight are answered), give them and what was answered while
 * the store could not commit their time (4 s at most, see `Service.stop`),
 * log `stopped`, and end (`afterwards`: an exit flushes the logs and
 * OpenTelemetry). A second signal waits for the same stop; once the
 * listeners are removed, a signal ends the process as by default.
 */
function stopOnSignals(
  service: Service,
  log: Logger,
  drain: () => Promise<unknown>,
  afterwards: () => void,
): { removeListeners(): void } {
  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      const unrecorded = await service.stop(drain());
      log({ level: "info", msg: "stopped", unrecorded });
      afterwards();
    })();
  for (const signal of STOP_SIGNALS) Deno.addSignalListener(signal, stop);
  return {
    removeListeners: () => {
      for (const signal of STOP_SIGNALS) Deno.removeSignalListener(signal, stop);
    },
  };
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
    // A Host header no URL holds is the app's 400 to answer, with no URL attributes here.
    const url = URL.parse(request.url);
    return tracer.startActiveSpan(request.method, {
      kind: SpanKind.SERVER,
      attributes: {
        "http.request.method": request.method,
        ...(url
          ? {
            "url.full": request.url,
            "url.path": url.pathname,
            "url.scheme": url.protocol.slice(0, -1),
          }
          : {}),
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
