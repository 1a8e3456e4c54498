/**
 * What the in-process benchmarks drive the service with: a signed event of
 * `deno task load` as a `Request`, the check that it was decided (not a
 * fallback), and a KV whose commits a benchmark can hold or time.
 *
 * @module
 */
import { createService, type Service } from "../lib/service/service.ts";
import { defaultPipeline } from "../policies/mod.ts";
import { signedLoadEvents } from "./load/events.mjs";

/** A signed event of the load (`signedLoadEvents`). */
export interface SignedEvent {
  readonly body: string;
  readonly header: string;
}

const fixture = JSON.parse(
  await Deno.readTextFile(
    new URL("../fixtures/issuing_authorization_request.json", import.meta.url),
  ),
);

/** Events `offset` … `offset + count - 1` of `deno task load`, signed now with `secret`. */
export function loadEvents(secret: string, count: number, offset = 0): SignedEvent[] {
  return signedLoadEvents(fixture, secret, count, offset);
}

/** The webhook request carrying `event`. */
export function signedRequest({ body, header }: SignedEvent): Request {
  return new Request("http://127.0.0.1/webhook", {
    method: "POST",
    headers: { "stripe-signature": header },
    body,
  });
}

/** Reads `response`; throws unless it is a 200 that is not a fallback (a cheaper path, which would flatter a figure). */
export async function answered(response: Response): Promise<void> {
  const body = await response.text();
  if (response.status !== 200 || body.includes('"fallback:')) {
    throw new Error(`answered ${response.status} ${body}`);
  }
}

/**
 * The service as `main.ts` builds it, with the default pipeline, on `kv`,
 * logging nothing; and `post`, which sends it one event and checks the
 * answer ({@linkcode answered}).
 */
export async function benchService(
  kv: Deno.Kv,
  secret: string,
): Promise<{ service: Service; post(event: SignedEvent): Promise<void> }> {
  const service = await createService(new Map([["STRIPE_WEBHOOK_SECRET", secret]]), {
    policies: defaultPipeline,
    policiesDir: new URL("../policies/", import.meta.url),
    serviceVersion: "bench",
    log: () => {},
    kv,
  });
  return {
    service,
    post: async (event) => answered(await service.fetch(signedRequest(event))),
  };
}

/** A commit, as `Deno.AtomicOperation.commit` makes it. */
export type Commit = () => Promise<Deno.KvCommitResult | Deno.KvCommitError>;

/** `kv` whose every commit goes through `through` (which holds it, or times it, then makes it). */
export function withCommits(
  kv: Deno.Kv,
  through: (commit: Commit) => Promise<Deno.KvCommitResult | Deno.KvCommitError>,
): Deno.Kv {
  return new Proxy(kv, {
    get(target, property) {
      if (property !== "atomic") {
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      }
      return () => {
        const operation = target.atomic();
        const commit = operation.commit.bind(operation);
        operation.commit = () => through(commit);
        return operation;
      };
    },
  });
}
