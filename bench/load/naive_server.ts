/**
 * (b) What a user would write instead, following Stripe's docs: one file,
 * `constructEventAsync` with the SubtleCrypto provider on every request, one
 * amount cap, no state. Run by `deno serve` (one process, or `--parallel`).
 */
import Stripe from "stripe";

const stripe = new Stripe("sk_test_unused", { httpClient: Stripe.createFetchHttpClient() });
const cryptoProvider = Stripe.createSubtleCryptoProvider();
const secret = Deno.env.get("STRIPE_WEBHOOK_SECRET")!;

export default {
  async fetch(request) {
    const body = await request.text();
    let event: Stripe.Event;
    try {
      event = await stripe.webhooks.constructEventAsync(
        body,
        request.headers.get("stripe-signature") ?? "",
        secret,
        undefined,
        cryptoProvider,
      );
    } catch {
      return new Response("bad signature", { status: 400 });
    }
    if (event.type !== "issuing_authorization.request") return Response.json({ received: true });
    const authorization = event.data.object;
    const approved = (authorization.pending_request?.amount ?? 0) <= 100_000;
    return Response.json({ approved }, { headers: { "Stripe-Version": event.api_version ?? "" } });
  },
} satisfies Deno.ServeDefaultExport;
