/**
 * A static check of a pipeline: every policy over a grid of authorizations,
 * to find policies that never fire, never let anything through, or decline
 * everything.
 *
 * @module
 */
import { MERCHANT_CATEGORY_ROWS } from "../engine/_merchant_category_rows.ts";
import {
  type AuthorizationRequest,
  NOTHING_HELD,
  type Policy,
  type PolicyContext,
  type Verdict,
} from "../engine/policy.ts";
import { NO_USAGE, type Usage } from "../engine/velocity.ts";

/** The grid's amounts, in minor units: 1.00, 50.00, 500.00, 2,000.00. */
const AMOUNTS = [100, 5_000, 50_000, 200_000] as const;
const CURRENCIES = ["usd", "eur", "gbp", "jpy"] as const;
/** Usage for velocity policies: a fresh card, and one that has spent a lot today. */
const USAGES: readonly Usage[] = [NO_USAGE, { amount: 10_000_000, count: 1_000 }];

/** How often one policy gave each outcome over the grid. */
export interface PolicyCheck {
  readonly policy: string;
  readonly outcomes: Record<Verdict["outcome"], number>;
  readonly warnings: readonly string[];
}

/**
 * Runs each policy over every category × amount × currency ×
 * controllability × usage, built from `base`, and warns about a policy that
 * never fires (only approves or abstains), never approves (objects to every
 * request) or declines everything.
 *
 * @example
 * ```ts
 * import { checkPipeline } from "./policy_check.ts";
 * // const checks = await checkPipeline(defaultPipeline, baseAuthorization);
 * // checks.flatMap((check) => check.warnings) → [] for a healthy pipeline
 * ```
 */
export async function checkPipeline(
  policies: readonly Policy[],
  base: AuthorizationRequest,
): Promise<PolicyCheck[]> {
  const grid = authorizationGrid(base);
  const now = new Date();
  const signal = new AbortController().signal;
  const checks: PolicyCheck[] = [];
  for (const [index, policy] of policies.entries()) {
    const outcomes = { abstain: 0, decline: 0, limit: 0 };
    for (const usage of USAGES) {
      const context: PolicyContext = { now, signal, usage: () => usage, held: NOTHING_HELD };
      for (const authorization of grid) outcomes[(await policy(authorization, context)).outcome]++;
    }
    const total = grid.length * USAGES.length;
    const fired = outcomes.decline + outcomes.limit;
    const warnings = [];
    if (fired === 0) warnings.push("never fires");
    if (fired === total) warnings.push("never approves");
    if (outcomes.decline === total) warnings.push("declines everything");
    checks.push({ policy: policy.name || `policy_${index + 1}`, outcomes, warnings });
  }
  return checks;
}

function authorizationGrid(base: AuthorizationRequest): AuthorizationRequest[] {
  const grid: AuthorizationRequest[] = [];
  for (const { category, mcc } of MERCHANT_CATEGORY_ROWS) {
    for (const amount of AMOUNTS) {
      for (const currency of CURRENCIES) {
        for (const controllable of [false, true]) {
          grid.push({
            ...base,
            merchant_data: { ...base.merchant_data, category, category_code: mcc ?? "0000" },
            pending_request: {
              ...base.pending_request,
              amount,
              currency,
              is_amount_controllable: controllable,
            },
          });
        }
      }
    }
  }
  return grid;
}
