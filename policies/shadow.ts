/**
 * The shadow pipeline: evaluated on every authorization request beside the
 * live one, against the same counters, logged with the decision (`shadow` in
 * the decision log) and counted when it disagrees
 * (`authorizer_shadow_disagreements_total`). Never enforced. A synchronous
 * shadow runs in the same commit as the live decision (it adds its own run
 * time, and its counters are read and checked with the live ones); an async
 * one finishes after the answer and is recorded then. Use it to try a change
 * on real traffic before it bites, then move it into `mod.ts`.
 *
 * `undefined` (the default) turns it off. For example, to see what a lower
 * cap and a country block would change:
 *
 * ```ts
 * import type { Policy } from "../lib/engine/policy.ts";
 * import { amountCap, blockCountries, defaultPipeline } from "./mod.ts";
 *
 * export const shadowPipeline: readonly Policy[] | undefined = [
 *   ...defaultPipeline,
 *   amountCap({ usd: 50_000, eur: 50_000, gbp: 50_000 }),
 *   blockCountries(["KP", "IR"]),
 * ];
 * ```
 *
 * @module
 */
import type { Policy } from "../lib/engine/policy.ts";

/** The pipeline to shadow, or `undefined` for none. */
export const shadowPipeline: readonly Policy[] | undefined = undefined;
