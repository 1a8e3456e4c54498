/**
 * (d) The minimal durable handler, the ceiling for a service that logs every
 * decision durably on Deno KV before answering: Web Crypto HMAC verify with
 * the key imported once, `JSON.parse`, an in-memory per-card daily limit,
 * and a Deno KV log where each decision with its raw event is group-committed
 * before the answer, two commits in flight. Nothing else: no policies, no
 * reconciliation, no idempotency, no limits across processes.
 *
 * Run as a script, it serves on PORT; `bench/handler_cost.ts` imports the handler.
 */
const encoder = new TextEncoder();
const DAILY_LIMIT = 500_000;
const TOLERANCE_SECONDS = 300;
/** Within KV's 1,000 mutations and 800 KiB per atomic commit. */
const BATCH_BYTES = 700 * 1024;
const BATCH_RECORDS = 900;

interface Pending {
  readonly key: Deno.KvKey;
  readonly value: { readonly approved: boolean; readonly event: string };
  readonly done: (ok: boolean) => void;
}

/** The handler over `kv`, verifying with `secret`. */
export async function createDurableHandler(
  kv: Deno.Kv,
  secret: string,
): Promise<(request: Request) => Promise<Response>> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  const spent = new Map<string, number>();
  const queue: Pending[] = [];
  let inFlight = 0;

  function flush(): void {
    while (inFlight < 2 && queue.length > 0) {
      let bytes = 0, count = 0;
      while (count < queue.length && count < BATCH_RECORDS) {
        bytes += queue[count].value.event.length + 64;
        if (count > 0 && bytes > BATCH_BYTES) break;
        count++;
      }
      const batch = queue.splice(0, count);
      const operation = kv.atomic();
      for (const item of batch) operation.set(item.key, item.value);
      inFlight++;
      operation.commit().then(
        (result) => batch.forEach((item) => item.done(result.ok)),
        () => batch.forEach((item) => item.done(false)),
      ).finally(() => {
        inFlight--;
        flush();
      });
    }
  }

  return async (request) => {
    const body = await request.text();
    const header = request.headers.get("stripe-signature") ?? "";
    const t = /t=(\d+)/.exec(header)?.[1];
    const v1 = /v1=([0-9a-f]{64})/.exec(header)?.[1];
    if (!t || !v1 || Math.abs(Date.now() / 1000 - Number(t)) > TOLERANCE_SECONDS) {
      return new Response("bad signature", { status: 400 });
    }
    const valid = await crypto.subtle.verify(
      "HMAC",
      key,
      hexBytes(v1),
      encoder.encode(`${t}.${body}`),
    );
    if (!valid) return new Response("bad signature", { status: 400 });
    const event = JSON.parse(body);
    if (event.type !== "issuing_authorization.request") return Response.json({ received: true });
    const authorization = event.data.object;
    const counter = `${authorization.card.id}:${new Date().toISOString().slice(0, 10)}`;
    const amount = authorization.pending_request.amount;
    const used = spent.get(counter) ?? 0;
    const approved = used + amount <= DAILY_LIMIT;
    if (approved) spent.set(counter, used + amount);
    const { promise, resolve } = Promise.withResolvers<boolean>();
    queue.push({
      key: ["decision", authorization.id],
      value: { approved, event: body },
      done: resolve,
    });
    flush();
    if (!await promise) return Response.json({ approved: false });
    return Response.json({ approved }, { headers: { "Stripe-Version": event.api_version ?? "" } });
  };
}

function hexBytes(hex: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

if (import.meta.main) {
  const kv = await Deno.openKv(Deno.env.get("KV_PATH") || undefined);
  Deno.serve(
    { port: Number(Deno.env.get("PORT")), hostname: "127.0.0.1", onListen() {} },
    await createDurableHandler(kv, Deno.env.get("STRIPE_WEBHOOK_SECRET")!),
  );
}
