/**
 * Answers given while the store could not commit them, until they land: the
 * work that records them after their answer (and async shadow decisions),
 * retried at a growing pace while the store keeps failing, released from
 * the pending reservations when it lands, logged `store_unrecorded` when it
 * never does, and waited for by a stop.
 *
 * @module
 */
import { Deadline } from "../engine/deadline.ts";
import type { Decision } from "../engine/decide.ts";
import type { AuthorizationRequest } from "../engine/policy.ts";
import { isSameRequest, requestFingerprint } from "./authorization_state.ts";
import { type Logger, throttledLogger } from "../telemetry/log.ts";
import type { PendingReservations } from "./counters.ts";
import type { Reservation } from "./decision_record.ts";
import type { RequestMeta } from "./request_job.ts";

/**
 * How long what was answered without the store's commit is retried while the
 * store cannot commit in time (a lock held by another process, a KV server
 * down): an outage of minutes, not only a slow commit, still ends logged and
 * reserved.
 */
const RECORD_RETRY_MS = 15 * 60_000;
/** Its pauses between attempts: from a second, doubling, up to half a minute. */
const FIRST_RETRY_PAUSE_MS = 1_000;
const MAX_RETRY_PAUSE_MS = 30_000;
/**
 * Its pause once a stop began: short, as the stop waits for these and not
 * their pace, but not none (a store refusing every write at once, a full
 * disk, was tried some 5,000 times a second until the stop's end).
 */
const STOPPING_RETRY_PAUSE_MS = 50;
/** Recordings waiting to be retried at most; past it (a long outage at full rate), one that fails is logged `store_unrecorded`. */
const MAX_RECORDS_WAITING = 10_000;
/**
 * How long a stop waits, from its signal, for the requests in flight and for
 * what was answered but not yet committed (see {@linkcode UnlandedAnswers}):
 * inside the 5 s Deno Deploy gives an instance between its SIGINT and its
 * SIGKILL ("Runtime" reference), with a second for the rest, and Docker's
 * 10 s between SIGTERM and SIGKILL.
 */
const STOP_WAIT_MS = 4_000;
/** `store_retry` and `store_record_retry` are each logged at most this often. */
export const RETRY_LOG_EVERY_MS = 1_000;

/** An answer given while the store could not commit, until it is committed. */
export interface Unlanded {
  readonly authorization: AuthorizationRequest;
  readonly meta: RequestMeta;
  readonly decision: Decision;
  /** What this process's decisions count of it until it lands (see `PendingReservations`). */
  readonly reservation?: Reservation;
}

/** What {@linkcode createUnlandedAnswers} gives the store. */
export interface UnlandedAnswers {
  /**
   * Tracks work that lands after its answer until it settles; with `answer`,
   * the recording of an answer given without the store's commit, whose
   * pending reservation is released when it settles, and which a stop logs
   * if it has not.
   */
  inBackground(work: Promise<unknown>, answer?: Unlanded): void;
  /**
   * What this process answered for the same request (the same event, or
   * the same position and amounts on the authorization, as the store tells
   * a redelivery) while the store could not commit it, until it lands: a
   * redelivery during an outage gets that answer again, and counts nothing
   * more.
   */
  answeredBefore(authorization: AuthorizationRequest, eventId: string): Unlanded | undefined;
  /**
   * Runs `attempt` again while it fails with an error `retried` accepts,
   * pausing {@linkcode FIRST_RETRY_PAUSE_MS}, doubling up to
   * {@linkcode MAX_RETRY_PAUSE_MS}, between attempts (a stop wakes the
   * pause), for up to {@linkcode RECORD_RETRY_MS} and while fewer than
   * {@linkcode MAX_RECORDS_WAITING} wait; each pause is logged
   * `store_record_retry` (at most a line a second).
   */
  retriedWhileFailing<T>(
    answer: Pick<Unlanded, "authorization" | "meta">,
    attempt: () => Promise<T>,
    retried: (error: unknown) => boolean,
  ): Promise<T>;
  /** What logs `answer` as `store_unrecorded` when its recording fails (not again after a stop did). */
  loggedUnrecorded(answer: Unlanded): (error: unknown) => void;
  /** Whether a stop began: retries no longer pause. */
  readonly stopping: boolean;
  /**
   * Stops: waits, up to {@linkcode STOP_WAIT_MS} in all, for `requestsAnswered`, then for the work
   * in the background (retries at once, no longer paced); logs
   * `store_unrecorded` (reason `stopped`) for each answer still not recorded.
   * Resolves with how many answers since the start were not logged. Called
   * again, it waits for the same stop.
   */
  stop(requestsAnswered?: Promise<unknown>): Promise<number>;
}

/**
 * Creates the tracker of answers waiting to land over the store's log and
 * its pending reservations.
 *
 * @example
 * ```ts
 * import { createUnlandedAnswers } from "./unlanded_answers.ts";
 * import { PendingReservations } from "./counters.ts";
 * import { authorizationEvent, authorizationOf } from "../../fixtures/events.ts";
 * import { Deadline } from "../engine/deadline.ts";
 * import { equal } from "node:assert/strict";
 * const pending = new PendingReservations();
 * const answers = createUnlandedAnswers({ log: () => {}, pending });
 * const authorization = authorizationOf(authorizationEvent());
 * const meta = { eventId: "evt_1", receivedAt: Date.now(), deadline: Deadline.after(0), path: "respond" as const, eventBytes: 4_000 };
 * const reservation = { keys: [["usage", "card", "ic_1", "day"]], amount: 500, count: 1 };
 * pending.add("evt_1", reservation);
 * const decision = { approved: true, reasons: [], trace: [], policyVersion: "dev" };
 * answers.inBackground(Promise.resolve(), { authorization, meta, decision, reservation });
 * equal(await answers.stop(), 0);
 * equal(pending.empty, true);
 * ```
 */
export function createUnlandedAnswers(
  { log, pending }: { readonly log: Logger; readonly pending: PendingReservations },
): UnlandedAnswers {
  const logRecordRetry = throttledLogger(log, RETRY_LOG_EVERY_MS);
  // Work that lands after its answer, which a stop waits for, each with what to log if it never
  // lands.
  const landing = new Map<Promise<unknown>, Unlanded | undefined>();
  // Retries waiting for their next attempt; a stop wakes them (each removes itself when it wakes,
  // so nothing is kept per retry for the life of the process).
  const pauses = new Set<() => void>();
  let stopping: Promise<number> | undefined;
  // Answers the stop logged as unrecorded: their attempt, cut short when the KV closes, is not
  // logged again.
  const loggedAtStop = new Set<Unlanded>();
  let unrecordedAnswers = 0;
  let recordsWaiting = 0;

  function pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        pauses.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      pauses.add(wake);
    });
  }

  /** An answer that is not in the log: what an operator needs to account for it. */
  function logUnrecorded(
    { authorization, meta, decision }: Unlanded,
    why: { readonly error: unknown } | { readonly reason: "stopped" },
  ): void {
    unrecordedAnswers++;
    log({
      level: "error",
      msg: "store_unrecorded",
      ...why,
      authorization_id: authorization.id,
      event_id: meta.eventId,
      card_id: authorization.card.id,
      requested_amount: authorization.pending_request.amount,
      currency: authorization.pending_request.currency,
      approved: decision.approved,
      ...(decision.amount === undefined ? {} : { amount: decision.amount }),
    });
  }

  return {
    inBackground(work, answer) {
      landing.set(work, answer);
      const landed = () => {
        landing.delete(work);
        if (answer?.reservation) pending.remove(answer.meta.eventId, answer.reservation);
      };
      work.then(landed, landed);
    },

    answeredBefore(authorization, eventId) {
      let fingerprint: string | undefined;
      for (const answer of landing.values()) {
        if (answer?.authorization.id !== authorization.id) continue;
        fingerprint ??= requestFingerprint(authorization);
        const delivery = {
          event_id: answer.meta.eventId,
          fingerprint: requestFingerprint(answer.authorization),
        };
        if (isSameRequest(delivery, eventId, fingerprint)) return answer;
      }
    },

    async retriedWhileFailing({ authorization, meta }, attempt, retried) {
      const until = Date.now() + RECORD_RETRY_MS;
      for (let wait = FIRST_RETRY_PAUSE_MS;; wait = Math.min(2 * wait, MAX_RETRY_PAUSE_MS)) {
        try {
          return await attempt();
        } catch (error) {
          const waitable = retried(error) && Date.now() + wait < until &&
            recordsWaiting < MAX_RECORDS_WAITING;
          if (!waitable) throw error;
          recordsWaiting++;
          const pauseMs = stopping ? STOPPING_RETRY_PAUSE_MS : wait;
          logRecordRetry({
            level: "warn",
            msg: "store_record_retry",
            authorization_id: authorization.id,
            event_id: meta.eventId,
            retry_in_ms: pauseMs,
            waiting: recordsWaiting,
          });
          try {
            await pause(pauseMs);
          } finally {
            recordsWaiting--;
          }
        }
      }
    },

    loggedUnrecorded(answer) {
      // After a stop gave up on it, it was logged then; what fails after is the KV being closed.
      return (error) => {
        if (!loggedAtStop.has(answer)) logUnrecorded(answer, { error });
      };
    },

    get stopping() {
      return stopping !== undefined;
    },

    stop(requestsAnswered = Promise.resolve()) {
      return stopping ??= (async () => {
        for (const wake of pauses) wake();
        const deadline = Deadline.after(STOP_WAIT_MS);
        // Requests still being answered may yet answer without the store: wait for them first.
        await deadline.race(requestsAnswered.catch(() => {}));
        while (landing.size > 0 && deadline.remainingMs() > 0) {
          await deadline.race(Promise.allSettled(landing.keys()));
        }
        for (const answer of landing.values()) {
          if (!answer) continue;
          loggedAtStop.add(answer);
          logUnrecorded(answer, { reason: "stopped" });
        }
        return unrecordedAnswers;
      })();
    },
  };
}
