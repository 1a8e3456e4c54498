/**
 * Logged records rewritten after their commit: an async shadow decision that
 * arrives after the live one was recorded, and a request the API path failed
 * to send, answered in the response instead.
 *
 * @module
 */
import { type Decision, formatReason } from "../engine/decide.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import type { AggregateWriter } from "./aggregates.ts";
import {
  type DecisionRecord,
  fittedRecord,
  isRecordRef,
  keyOfRecord,
  recordFromStored,
  type RecordRef,
  type ShadowDecision,
  type StoredRecord,
} from "./decision_record.ts";
import { shadowOf } from "./request_job.ts";
import { BACKGROUND_MS } from "./commit_engine.ts";
import { isLocked, isStoreFailing } from "./kv_path.ts";

/** What {@linkcode createRecordRewrites} gives the store. */
export interface RecordRewrites {
  /** Records the shadow pipeline's async decision beside `live`, with its counts. */
  recordShadow(live: DecisionRecord, pending: Promise<Decision>): Promise<void>;
  /** Counts a shadow decision that disagrees with the live one in the metrics. */
  countShadow(shadow: ShadowDecision): void;
  /** Records that the API path failed and the webhook answered this request instead. */
  markAnsweredDirectly(record: DecisionRecord): Promise<void>;
}

/**
 * Creates the rewrites of logged records over the store's KV.
 *
 * @example
 * ```ts
 * import { createRecordRewrites } from "./record_rewrites.ts";
 * import { createAggregateWriter } from "./aggregates.ts";
 * import { keyOfRecord, recordFromStored, recordWrite, type StoredRecord, toRecord } from "./decision_record.ts";
 * import { authorizationEvent, authorizationOf } from "../../fixtures/events.ts";
 * import { equal } from "node:assert/strict";
 * using kv = await Deno.openKv(":memory:");
 * const authorization = authorizationOf(authorizationEvent());
 * const record = toRecord(authorization, { approved: true, reasons: [], trace: [], policyVersion: "dev" }, {
 *   eventId: "evt_1", index: 0, position: 0, decidedAt: new Date(), latencyMs: 1, path: "api",
 *   held: { amount: 0, requests: 0 }, reservation: { keys: [], amount: 0, count: 0 },
 * });
 * const operation = kv.atomic();
 * recordWrite(record, 86_400_000).write(operation);
 * await operation.commit();
 * const rewrites = createRecordRewrites({ kv, retentionMs: 86_400_000, aggregates: createAggregateWriter(kv) });
 * await rewrites.markAnsweredDirectly(record);
 * const stored = await kv.get<StoredRecord>(keyOfRecord(record));
 * equal(recordFromStored(stored.value!).path, "respond_after_api_failure");
 * ```
 */
export function createRecordRewrites(
  { kv, retentionMs, aggregates, metrics }: {
    readonly kv: Deno.Kv;
    /** How long decisions are kept, in ms. */
    readonly retentionMs: number;
    readonly aggregates: AggregateWriter;
    readonly metrics?: Metrics;
  },
): RecordRewrites {
  /**
   * Rewrites one stored record (and adds `alongside`'s writes to the same
   * commit), unless `change` says it is already as it should be (`undefined`),
   * or it is not there (a reference to a record stored before records were
   * keyed by time is not one). Its own read-check-write loop, not a commit
   * engine job: the engine keeps every key a job read in its versionstamp
   * cache, and a shadow pipeline rewrites a record per request (several KiB
   * each) off the answer's path, where a retry a few ms later costs nothing.
   * Tried again, 5 ms apart and twice as long each time up to a second, for
   * up to {@linkcode BACKGROUND_MS} while the record changed meanwhile or the
   * store is locked by another process or refuses writes (a full disk), as
   * long as a commit may take; after 5 attempts on any other error. A stop
   * waits for it 4 s at most, and does not cut its pauses short.
   */
  async function updateRecord(
    key: Deno.KvKey,
    change: (record: DecisionRecord) => DecisionRecord | undefined,
    alongside?: (operation: Deno.AtomicOperation) => void,
  ): Promise<void> {
    const giveUpAt = Date.now() + BACKGROUND_MS;
    for (let attempt = 1, pause = 5;; attempt++, pause = Math.min(2 * pause, 1_000)) {
      let failure: unknown = new Error("the record kept changing: not rewritten");
      try {
        const entry = await kv.get<StoredRecord | RecordRef>(key);
        if (!entry.value || isRecordRef(entry.value)) return;
        const next = change(recordFromStored(entry.value));
        if (!next) return;
        const changed = fittedRecord(next);
        const operation = kv.atomic().check(entry).set(key, changed, { expireIn: retentionMs });
        alongside?.(operation);
        if ((await operation.commit()).ok) return;
      } catch (error) {
        // A record that cannot fit one KV value after every trim never will.
        const waitable = isLocked(error) || isStoreFailing(error) || attempt < 5;
        if (error instanceof RangeError || !waitable) throw error;
        failure = error;
      }
      if (Date.now() + pause > giveUpAt) throw failure;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  function countShadow(shadow: ShadowDecision): void {
    if (!shadow.disagrees) return;
    metrics?.shadowDisagreement(shadow.reasons[0] ? formatReason(shadow.reasons[0]) : "none");
  }

  return {
    async recordShadow(live, pending) {
      let decision: Decision;
      try {
        decision = await pending;
      } catch {
        return;
      }
      const shadow = shadowOf(live, decision);
      countShadow(shadow);
      // Its counts land with the record they describe, as every aggregate does: once, as a record
      // that already has its shadow (a commit that landed but reported an error) is left alone.
      await updateRecord(
        keyOfRecord(live),
        (record) => record.shadow ? undefined : { ...record, shadow },
        (operation) => aggregates.addShadow(operation, live.decided_at, shadow),
      );
    },

    countShadow,

    async markAnsweredDirectly(record) {
      await updateRecord(
        keyOfRecord(record),
        (logged) => ({ ...logged, path: "respond_after_api_failure" }),
      );
    },
  };
}
