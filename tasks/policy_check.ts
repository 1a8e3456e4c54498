/**
 * `deno task policy:check [--policies <module>] [--runs N]`: runs every
 * policy of the pipeline (default `policies/mod.ts`) over thousands of
 * generated Stripe-shaped authorization requests and reports, per policy,
 * one that never fires or always fires (with an example request), and per
 * pipeline, the values of each field it never approves. Exits 1 when a
 * policy never or always fires.
 *
 * @module
 */
import { authorizationEvent, authorizationOf } from "../fixtures/events.ts";
import { checkPipeline, DEFAULT_RUNS, MAX_RUNS } from "../lib/ops/policy_check.ts";
import { parseTaskArgs, runTask, shellDir, UsageError, usageError } from "./_cli.ts";
import { DEFAULT_PIPELINE_MODULE, importPipeline } from "./_pipeline_module.ts";
import { textTable } from "./_table.ts";

const USAGE = `usage: deno task policy:check [--policies <module>] [--runs N]

Runs each policy of <module> (default policies/mod.ts) over N generated
authorization requests (default ${DEFAULT_RUNS}) varying every field policies read,
warns about a policy that never fires or always fires (exit 1), and lists what
the pipeline never approves.`;

/** Runs the check; returns the exit code. */
export function main(args: string[] = Deno.args): Promise<number> {
  return runTask(async () => {
    const parsed = parseTaskArgs(args, {
      policies: { type: "string" },
      runs: { type: "string" },
    }, USAGE);
    if (!parsed) return;
    const { values, positionals } = parsed;
    if (positionals.length > 0) {
      throw usageError(`unexpected ${positionals[0]}`, USAGE);
    }
    const runs = values.runs === undefined ? DEFAULT_RUNS : Number(values.runs);
    if (!Number.isSafeInteger(runs) || runs < 1 || runs > MAX_RUNS) {
      throw new UsageError(`--runs must be an integer from 1 to ${MAX_RUNS}, got ${values.runs}`);
    }
    const policies = values.policies === undefined
      ? await importPipeline(DEFAULT_PIPELINE_MODULE)
      : await importPipeline(values.policies, shellDir());
    const report = await checkPipeline(
      policies,
      authorizationOf(authorizationEvent("online")),
      { runs },
    );
    console.log(`${report.runs} generated requests per policy\n`);
    console.log(textTable(
      ["policy", "abstain", "decline", "limit", "warnings"],
      report.policies.map(({ policy, outcomes, warnings }) => [
        policy,
        String(outcomes.abstain),
        String(outcomes.decline),
        String(outcomes.limit),
        warnings.join(", "),
      ]),
    ));
    if (report.neverApproved.length > 0) {
      console.log("\nnever approved by the pipeline (whatever the rest of the request)");
      console.log(textTable(
        ["field", "value", "because"],
        report.neverApproved.map(({ field, value, reasons }) => [field, value, reasons.join("; ")]),
      ));
    }
    const warned = report.policies.filter((check) => check.warnings.length > 0);
    for (const { policy, warnings, example } of warned) {
      console.error(`warning: ${policy} ${warnings.join(", ")}, e.g. on ${example}`);
    }
    return warned.length > 0 ? 1 : 0;
  });
}

if (import.meta.main) Deno.exit(await main());
