/**
 * An authorization state's entries, as the store keeps them, for the store's
 * unit tests.
 *
 * @module
 */
import type { RequestEntry } from "../../../lib/store/authorization_state.ts";

/** An approved request at `position` of `amount`, reserving it (and `count` approvals) under its own key. */
export function approvedEntry(position: number, amount: number, count: number): RequestEntry {
  return {
    index: position,
    event_id: `evt_${position}`,
    position,
    fingerprint: `${position}`,
    approved: true,
    amount,
    reservation: { keys: [["usage", `${position}`]], amount, count },
  };
}
