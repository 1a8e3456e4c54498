/**
 * `deno task policy:check [--policies <module>]`: runs every policy of the
 * pipeline (default `policies/mod.ts`) over a grid of authorizations (every
 * Stripe category × 4 amounts × 4 currencies × controllability × a fresh and a
 * heavily used card) and warns about a policy that never fires, never
 * approves, or declines everything. Exits 1 when there is a warning.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { defaultPipeline } from "../policies/mod.ts";
import { authorizationEvent, authorizationOf } from "../fixtures/events.ts";
import { checkPipeline } from "../lib/ops/policy_check.ts";
import { importPipeline } from "./_pipeline_module.ts";
import { textTable } from "./_table.ts";

const { values } = parseArgs({ args: Deno.args, options: { policies: { type: "string" } } });
const policies = values.policies ? await importPipeline(values.policies) : defaultPipeline;
const checks = await checkPipeline(policies, authorizationOf(authorizationEvent("online")));

console.log(textTable(
  ["policy", "abstain", "decline", "limit", "warnings"],
  checks.map(({ policy, outcomes, warnings }) => [
    policy,
    String(outcomes.abstain),
    String(outcomes.decline),
    String(outcomes.limit),
    warnings.join(", "),
  ]),
));
const warned = checks.filter((check) => check.warnings.length > 0);
for (const { policy, warnings } of warned) {
  console.error(`warning: ${policy} ${warnings.join(", ")}`);
}
if (warned.length > 0) Deno.exit(1);
