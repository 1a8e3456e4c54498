/**
 * Which side bounds each durable handler, in-process: (d) the minimal durable
 * handler and (c) this service, each driven with distinct signed events of
 * `deno task load`, 64 at a time (as the load's connections), on a KV file,
 * each of its commits timed from the `commit()` call to its result. Printed
 * per handler: wall time per request, requests per commit that landed, the
 * share of the run some commit was in flight, and the times of the commits
 * that landed. A handler whose commits are in flight nearly all the time is
 * bound by Deno KV's writer (which commits one operation at a time); the rest
 * of the time its JS thread was the bound.
 *
 * Usage: `deno run --allow-all bench/commit_pipeline.ts [--requests N] [--rounds R] [--dir <path>]`
 * (default 8,000 events and 2 rounds, each handler first every other round; the KV files in a new
 * temporary folder under `--dir`, default the system's).
 *
 * @module
 */
import { createDurableHandler } from "./load/durable_server.ts";
import { countArg, textArg } from "./_measure.ts";
import {
  answered,
  benchService,
  type Commit,
  loadEvents,
  type SignedEvent,
  signedRequest,
  withCommits,
} from "./_service.ts";

const SECRET = "whsec_commit_pipeline_0123456789";
const CONCURRENCY = 64;
const WARM_UP = 200;
const REQUESTS = countArg(Deno.args, "--requests", 8_000);
const ROUNDS = countArg(Deno.args, "--rounds", 2);
const root = textArg(Deno.args, "--dir");

type Post = (event: SignedEvent) => Promise<void>;
/** Each handler on `kv`: what posts it an event, and what stops it (closing `kv`). */
const HANDLERS: { name: string; open(kv: Deno.Kv): Promise<[Post, () => PromiseLike<void>]> }[] = [
  {
    name: "(d) minimal durable handler",
    async open(kv) {
      const handle = await createDurableHandler(kv, SECRET);
      return [
        async (event) => answered(await handle(signedRequest(event))),
        () => Promise.resolve(kv.close()),
      ];
    },
  },
  {
    name: "(c) this service",
    async open(kv) {
      const { service, post } = await benchService(kv, SECRET);
      return [post, () => service[Symbol.asyncDispose]()];
    },
  },
];

/**
 * Commits of one run, from {@linkcode CommitClock.start} to {@linkcode CommitClock.stop}:
 * how long each that landed took, and how long any was in flight.
 */
class CommitClock {
  readonly landed: number[] = [];
  busyMs = 0;
  #inFlight = 0;
  #busySince = 0;
  #timing = false;

  async time(commit: Commit): Promise<Deno.KvCommitResult | Deno.KvCommitError> {
    const start = performance.now();
    if (this.#inFlight++ === 0) this.#busySince = start;
    let result: Deno.KvCommitResult | Deno.KvCommitError | undefined;
    try {
      return result = await commit();
    } finally {
      const end = performance.now();
      if (this.#timing && result?.ok) this.landed.push(end - start);
      if (--this.#inFlight === 0 && this.#timing) this.busyMs += end - this.#busySince;
    }
  }

  /** Counts from now: a commit in flight counts from now, not from its call. */
  start(): void {
    this.#timing = true;
    this.#busySince = performance.now();
  }

  stop(): void {
    if (this.#inFlight > 0) this.busyMs += performance.now() - this.#busySince;
    this.#timing = false;
  }
}

let offset = 0;
for (let round = 1; round <= ROUNDS; round++) {
  // Each handler first every other round: neither always runs on the machine the other left.
  for (const handler of round % 2 === 1 ? HANDLERS : HANDLERS.toReversed()) {
    const events = loadEvents(SECRET, WARM_UP + REQUESTS, offset);
    offset += WARM_UP + REQUESTS;
    const dir = await Deno.makeTempDir({ dir: root });
    const clock = new CommitClock();
    const raw = await Deno.openKv(`${dir}/kv.sqlite3`);
    const [post, stop] = await handler.open(withCommits(raw, (commit) => clock.time(commit)));
    for (const event of events.slice(0, WARM_UP)) await post(event);
    let next = WARM_UP;
    const started = performance.now();
    clock.start();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < events.length) await post(events[next++]);
      }),
    );
    clock.stop();
    const wallMs = performance.now() - started;
    const sorted = clock.landed.toSorted((a, b) => a - b);
    const at = (q: number) => sorted[Math.floor(q * (sorted.length - 1))].toFixed(1);
    console.log(
      `round ${round}/${ROUNDS}, ${handler.name}: ` +
        `${Math.round((wallMs / REQUESTS) * 1000)} µs a request (wall), ` +
        `${(REQUESTS / sorted.length).toFixed(1)} requests a commit that landed, ` +
        `a commit in flight ${Math.round((100 * clock.busyMs) / wallMs)}% of the time, ` +
        `commit p50 ${at(0.5)} ms, p90 ${at(0.9)} ms`,
    );
    await stop();
    await Deno.remove(dir, { recursive: true });
  }
}
