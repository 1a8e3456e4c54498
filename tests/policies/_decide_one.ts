import {
  type Held,
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
  { now = NOW, held = NOTHING_HELD }: { now?: Date; held?: Held } = {},
): Verdict {
  const context: PolicyContext = {
    now,
    signal: new AbortController().signal,
    usage,
    held,
  };
  return policy(authorizationOf(authorizationEvent(base, patch)), context) as Verdict;
}
