import type { Policy, PolicyContext, Verdict } from "../../lib/policy.ts";
import {
  authorizationEvent,
  authorizationOf,
  type AuthorizationPatch,
  type BaseEvent,
} from "../fixtures/events.ts";

const CONTEXT: PolicyContext = {
  now: new Date("2026-11-25T12:00:00Z"),
  signal: new AbortController().signal,
};

/** One policy's verdict on a fixture authorization with `patch` applied. */
export function verdictOf(
  policy: Policy,
  base: BaseEvent,
  patch: AuthorizationPatch = {},
): Verdict {
  return policy(authorizationOf(authorizationEvent(base, patch)), CONTEXT) as Verdict;
}
