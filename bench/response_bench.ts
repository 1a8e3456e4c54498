/** Building the webhook answer, against serializing a constant body as the baseline. */
import { authorizationResponseBody } from "../lib/engine/authorization_response.ts";
import { createDecide, type Decision } from "../lib/engine/decide.ts";
import { defaultPipeline } from "../policies/mod.ts";
import { authorizationOf, SCENARIOS } from "../fixtures/events.ts";

const authorization = authorizationOf(SCENARIOS.gambling_over_cap);
const decision = createDecide(defaultPipeline, { policyVersion: "3f2a9c1b7d4e" })(
  authorization,
) as Decision;

Deno.bench(
  "response: JSON of a constant body (baseline)",
  { group: "response", baseline: true },
  () => {
    JSON.stringify({ approved: true });
  },
);

Deno.bench("response: body with metadata, as JSON", { group: "response" }, () => {
  JSON.stringify(authorizationResponseBody(decision, authorization.pending_request));
});
