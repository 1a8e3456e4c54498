/** Replays through the public backtest, as `deno task replay` runs them. */
import { backtest, parseRecordedLine } from "../../../lib/ops/backtest.ts";
import { type Policy, withConfig } from "../../../lib/engine/policy.ts";
import { amountCap } from "../../../policies/amount_cap.ts";
import { assertEquals } from "../../_assert.ts";
import { authorizationEvent, authorizationOf } from "../../../fixtures/events.ts";

const recorded = (id: string, amount: number) => ({
  authorization: authorizationOf(authorizationEvent("online", { id, pending_request: { amount } })),
  eventId: `evt_${id}`,
  at: 0,
});

Deno.test("backtest decides with the service's fallback: FALLBACK_DECISION=approve replays as approve", async () => {
  // Before: replays always used the default decline, and reported a logged approving fallback as
  // changed to a decline.
  const lookupFails: Policy = withConfig(function lookup() {
    throw new Error("lookup down");
  }, null);
  const items = [recorded("iauth_fallback", 5_000)];
  const declining = await backtest(items, [], [lookupFails]);
  const approving = await backtest(items, [], [lookupFails], undefined, { fallback: "approve" });
  assertEquals([declining.after.declined, approving.after.approved], [1, 1]);
});

Deno.test("a change on a record logged trimmed is marked as such", async () => {
  // Before: nothing told a change that came from fields the log dropped from one a policy made.
  const line = (trimmed: string[]) =>
    JSON.stringify({
      authorization_id: "iauth_trimmed",
      event_id: "evt_trimmed",
      decided_at: "2026-11-25T12:00:00.000Z",
      reasons: [],
      approved: true,
      amount: null,
      request: authorizationOf(
        authorizationEvent("online", { id: "iauth_trimmed", pending_request: { amount: 90_000 } }),
      ),
      trimmed,
    });
  const trimmed = parseRecordedLine(line(["request.metadata"]))!;
  const whole = parseRecordedLine(line([]))!;
  assertEquals([trimmed.trimmed, whole.trimmed], [true, undefined]);
  const report = await backtest([trimmed], [], [amountCap({ usd: 50_000 })]);
  assertEquals(report.changed.map((change) => change.trimmed), [true]);
});
