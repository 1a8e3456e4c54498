import {
  NOTHING_HELD,
  type Policy,
  type PolicyContext,
  type Verdict,
} from "../../lib/engine/policy.ts";
import { NO_USAGE, type UsageReader } from "../../lib/engine/velocity.ts";
import {
  authorizationEvent,
  authorizationOf,
  type AuthorizationPatch,
  type BaseEvent,
} from "../../fixtures/events.ts";

/** The clock every policy unit test runs at. */
export const NOW = new Date("2026-11-25T12:00:00Z");

/** One policy's verdict on a fixture authorization with `patch` applied. */
export function verdictOf(
  policy: Policy,
  base: BaseEvent,
  patch: AuthorizationPatch = {},
  usage: UsageReader = () => NO_USAGE,
): Verdict {
  const context: PolicyContext = {
    now: NOW,
    signal: new AbortController().signal,
    usage,
    held: NOTHING_HELD,
  };
  return policy(authorizationOf(authorizationEvent(base, patch)), context) as Verdict;
}
