/**
 * A TCP listener for `deno task start` that survives connection floods and
 * descriptor exhaustion, which `Deno.serve` does not (denoland/deno#10148).
 *
 * On Deno 2.9.6 under `prlimit --nofile=256` with 400 idle loopback sockets
 * each holding a partial request line:
 * - `deno serve [--parallel]`: its accept loop rejects with `Too many open
 *   files (os error 24)`, nothing can catch it, the process exits with status
 *   1; a partial request is held open indefinitely (tests/reliability/
 *   flood_test.ts asserts both, so it fails once the runtime catches up).
 *   `Deno.serve` in a script and `node:http`'s `createServer` with
 *   `headersTimeout` (which stops accepting for good instead) were tried by
 *   hand when this was written; no test keeps those two.
 * - `Deno.listen` + `Deno.serveHttp` (this module): the accept error is ours to
 *   catch, so the loop backs off and resumes once descriptors free up (Go's
 *   `net/http` does the same: 5 ms doubling to 1 s), and each connection is
 *   ours to close when its headers do not arrive in time. It costs some
 *   throughput against `Deno.serve` (web streams per connection): `deno task
 *   load` runs (c) through it and `deno serve --parallel` through
 *   `Deno.serve`, and BENCHMARKS.md reports both. Deno Deploy keeps
 *   `Deno.serve`.
 *
 * `Deno.serveHttp` is deprecated, yet it is the runtime's only HTTP server
 * that takes a connection we accepted; this module is the one place that
 * uses it, so a successor (a listener option on `Deno.serve`) replaces it here.
 *
 * @module
 */
import { Deadline, TIMED_OUT } from "../engine/deadline.ts";

/** A connection without a complete request head after this long is closed (slowloris, idle keep-alive). */
const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
/** Descriptors kept free for the rest of the process (the KV file, outgoing API calls, logs). */
export const RESERVED_DESCRIPTORS = 64;
const ACCEPT_BACKOFF_MIN_MS = 5;
/** On shutdown, how long an answer just handed over gets to be written before its connection closes. */
const SHUTDOWN_FLUSH_MS = 1_000;
const ACCEPT_BACKOFF_MAX_MS = 1_000;

/** `Deno.serveHttp`'s connection, still in the runtime but no longer in its types. */
interface HttpConn {
  nextRequest(): Promise<RequestEvent | null>;
  close(): void;
}
interface RequestEvent {
  readonly request: Request;
  respondWith(response: Response | Promise<Response>): Promise<void>;
}

/** Options of {@linkcode listen}. */
export interface ListenOptions {
  readonly hostname: string;
  readonly port: number;
  /** Default {@linkcode DEFAULT_HEADERS_TIMEOUT_MS}. */
  readonly headersTimeoutMs?: number;
  /** Connections served at once; more wait in the kernel's backlog. Default: no cap. */
  readonly maxConnections?: number;
  /**
   * Told about accept failures (at most once a second), connections closed
   * for being slow, and a handler that threw (answered 500, as `Deno.serve`
   * answers it).
   */
  readonly onEvent?: (event: ListenEvent) => void;
}

/** What the listener reports. */
export type ListenEvent =
  | { readonly kind: "accept_failed"; readonly error: unknown; readonly retryInMs: number }
  | { readonly kind: "headers_timeout"; readonly open: number }
  | { readonly kind: "handler_failed"; readonly error: unknown };

/** A running listener. */
export interface Listener {
  readonly addr: Deno.NetAddr;
  /** Connections open now. */
  readonly connections: number;
  /** Stops accepting, lets the requests in flight finish, then closes every connection. */
  shutdown(): Promise<void>;
}

/**
 * Serves `handler` on `hostname:port` over HTTP/1.1: accept errors (EMFILE,
 * ENFILE, ECONNABORTED) are retried with back-off instead of ending the
 * process, a connection that has not sent a complete request head within
 * `headersTimeoutMs` (at first or between keep-alive requests) is closed, and
 * at most `maxConnections` are served at once.
 *
 * @example
 * ```ts
 * import { listen } from "./listen.ts";
 * import assert from "node:assert/strict";
 * const server = listen({ hostname: "127.0.0.1", port: 0 }, () => new Response("ok"));
 * const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
 * assert.equal(await response.text(), "ok");
 * await server.shutdown();
 * ```
 */
export function listen(
  options: ListenOptions,
  handler: (request: Request) => Response | Promise<Response>,
): Listener {
  const headersTimeoutMs = options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
  if (!Number.isInteger(headersTimeoutMs) || headersTimeoutMs < 1) {
    throw new RangeError(
      `Cannot listen: headersTimeoutMs must be a positive integer, got ${headersTimeoutMs}`,
    );
  }
  const maxConnections = options.maxConnections ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isInteger(maxConnections) || maxConnections < 1) {
    throw new RangeError(
      `Cannot listen: maxConnections must be a positive integer, got ${maxConnections}`,
    );
  }
  const onEvent = options.onEvent ?? (() => {});
  const serveHttp = (Deno as unknown as { serveHttp?: (conn: Deno.Conn) => HttpConn }).serveHttp;
  if (!serveHttp) {
    throw new TypeError(
      "Cannot listen: this Deno has no Deno.serveHttp; run `deno serve main.ts` behind a front proxy (SECURITY.md)",
    );
  }
  const listener = Deno.listen({ hostname: options.hostname, port: options.port });
  const open = new Set<HttpConn>();
  /** Connections waiting for a request head: nothing of theirs is lost when they are closed. */
  const idle = new Set<HttpConn>();
  let closing = false;
  let slotFreed: (() => void) | undefined;
  let allClosed: (() => void) | undefined;

  function release(http: HttpConn) {
    if (!open.delete(http)) return;
    idle.delete(http);
    try {
      http.close();
    } catch { /* already closed by the client */ }
    slotFreed?.();
    if (open.size === 0) allClosed?.();
  }

  async function serveConnection(conn: Deno.Conn) {
    const http = serveHttp!(conn);
    open.add(http);
    try {
      while (!closing) {
        let next: RequestEvent | null | typeof TIMED_OUT;
        idle.add(http);
        try {
          next = await Deadline.after(headersTimeoutMs).race(http.nextRequest());
        } catch {
          break; // a protocol error or a reset: hyper has answered or dropped it
        } finally {
          idle.delete(http);
        }
        if (next === null) break;
        if (next === TIMED_OUT) {
          onEvent({ kind: "headers_timeout", open: open.size });
          break;
        }
        // A head that came in as the shutdown closed this connection as idle: its answer could not
        // be written, so it is not decided either (the client sees the connection close, and retries).
        if (closing) break;
        let response: Response;
        try {
          response = await handler(next.request);
        } catch (error) {
          onEvent({ kind: "handler_failed", error });
          response = new Response("Internal Server Error", { status: 500 });
        }
        try {
          // Shutting down: hyper closes the connection once this answer is written.
          if (closing) {
            try {
              response.headers.set("connection", "close");
            } catch {
              /* immutable headers: hyper keeps the connection; the bound below closes it */
            }
          }
          await next.respondWith(response);
        } catch {
          /* the client went away before the answer */
        }
        if (closing) {
          // Closing now could cut the answer short: let hyper finish and close (bounded).
          await Deadline.after(SHUTDOWN_FLUSH_MS).race(http.nextRequest().catch(() => null));
        }
      }
    } finally {
      release(http);
    }
  }

  async function acceptLoop() {
    let backoffMs = 0;
    let lastReportMs = 0;
    while (!closing) {
      if (open.size >= maxConnections) {
        await new Promise<void>((resolve) => slotFreed = resolve);
        slotFreed = undefined;
        continue;
      }
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
        backoffMs = 0;
      } catch (error) {
        if (closing || error instanceof Deno.errors.BadResource) return;
        backoffMs = Math.min(
          Math.max(backoffMs * 2, ACCEPT_BACKOFF_MIN_MS),
          ACCEPT_BACKOFF_MAX_MS,
        );
        if (Date.now() - lastReportMs >= 1_000) {
          lastReportMs = Date.now();
          onEvent({ kind: "accept_failed", error, retryInMs: backoffMs });
        }
        await new Promise((resolve) => setTimeout(resolve, backoffMs));
        continue;
      }
      serveConnection(conn);
    }
  }
  acceptLoop();

  return {
    addr: listener.addr as Deno.NetAddr,
    get connections() {
      return open.size;
    },
    async shutdown() {
      closing = true;
      listener.close();
      slotFreed?.();
      for (const http of [...idle]) release(http);
      if (open.size > 0) await new Promise<void>((resolve) => allClosed = resolve);
    },
  };
}

/**
 * How many more descriptors this process can open, counted up to `upTo` by
 * opening `/dev/null` until the open-file limit refuses (then all are closed;
 * about 50 µs each). Without read permission on `/dev/null` (Deno Deploy),
 * `undefined`. Why a count and not `getrlimit`: Deno reads the limit only
 * through FFI (`--allow-ffi`, native code for every dependency) or
 * `/proc/self/limits` (which it grants only with `--allow-all`); opening
 * `/dev/null` needs nothing more than reading it, and what it counts is what
 * a flood exhausts. Deno raises the soft limit to the hard one at start
 * (measured: `prlimit --nofile=256:4096` gives the process 4,096), so a low
 * count means a low hard limit.
 *
 * @example
 * ```ts
 * import { freeDescriptors } from "./listen.ts";
 * import assert from "node:assert/strict";
 * const free = freeDescriptors(16);
 * assert.ok(free === undefined || free <= 16);
 * ```
 */
export function freeDescriptors(upTo: number): number | undefined {
  if (Deno.permissions.querySync({ name: "read", path: "/dev/null" }).state !== "granted") {
    return undefined;
  }
  const opened: Deno.FsFile[] = [];
  try {
    while (opened.length < upTo) opened.push(Deno.openSync("/dev/null"));
  } catch {
    /* the limit */
  } finally {
    for (const file of opened) file.close();
  }
  return opened.length;
}
