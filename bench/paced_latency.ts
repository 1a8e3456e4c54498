/**
 * The service's answer times at a fixed rate, in-process (no listener, no
 * load generator on the cores), and its KV commits that took over 40 ms:
 * what sets the tail of `deno task load`'s p99 at 2,000 requests/s is the KV
 * file's disk, not the JS thread (BENCHMARKS.md). Run it where the store will
 * live to see what that disk does to the answers.
 *
 * Usage: `deno run --allow-all bench/paced_latency.ts [--rate R] [--requests N] [--kv <path>]`
 * (default 2,000 requests/s, 20,000 events of `deno task load`, a KV file
 * in a new temporary folder; `--kv :memory:` for none). The first second is
 * left out of the percentiles (the code is compiled then).
 *
 * @module
 */
import { countArg, textArg } from "./_measure.ts";
import { benchService, loadEvents, type SignedEvent, withCommits } from "./_service.ts";

const SECRET = "whsec_paced_latency_0123456789";
const RATE = countArg(Deno.args, "--rate", 2_000);
const REQUESTS = countArg(Deno.args, "--requests", 20_000);
const SLOW_COMMIT_MS = 40;
const WARM_UP_MS = 1_000;
if (REQUESTS <= (RATE * WARM_UP_MS) / 1_000) {
  throw new RangeError(
    "--requests must be more than a second's worth at --rate: the first is left out",
  );
}
const kvArg = textArg(Deno.args, "--kv");
const dir = kvArg === undefined ? await Deno.makeTempDir() : undefined;
const kvPath = kvArg ?? `${dir}/kv.sqlite3`;

const events = loadEvents(SECRET, REQUESTS);

using raw = await Deno.openKv(kvPath);
let started = 0;
/** Commits over {@linkcode SLOW_COMMIT_MS}: when each began (ms into the run) and what it took. */
const slowCommits: [number, number][] = [];
/** `raw` with each commit timed. */
const kv = withCommits(raw, async (commit) => {
  const from = performance.now();
  try {
    return await commit();
  } finally {
    const ms = performance.now() - from;
    if (ms > SLOW_COMMIT_MS) slowCommits.push([from - started, ms]);
  }
});
const { service, post: decided } = await benchService(kv, SECRET);

/** Answer times (ms) of the requests sent after the warm-up. */
const times: number[] = [];
/** Posts one event ({@linkcode benchService}'s `post`), timing it once the warm-up is over. */
async function post(event: SignedEvent): Promise<void> {
  const from = performance.now();
  await decided(event);
  if (from - started >= WARM_UP_MS) times.push(performance.now() - from);
}

try {
  started = performance.now();
  const answers: Promise<void>[] = [];
  for (let i = 0; i < events.length; i++) {
    const due = started + i * 1_000 / RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    answers.push(post(events[i]));
  }
  await Promise.all(answers);
  const rate = events.length * 1_000 / (performance.now() - started);
  times.sort((a, b) => a - b);
  const at = (share: number) => times[Math.floor(share * (times.length - 1))].toFixed(1);
  console.log(
    `${kvPath}: ${rate.toFixed(0)} requests/s; answers p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, ` +
      `p99.9 ${at(0.999)} ms, max ${at(1)} ms`,
  );
  console.log(
    `commits over ${SLOW_COMMIT_MS} ms: ${slowCommits.length}` +
      (slowCommits.length === 0
        ? ""
        : ` (ms into the run: took) ${
          slowCommits.map(([at, ms]) => `${at.toFixed(0)}: ${ms.toFixed(0)}`).join(", ")
        }`),
  );
} finally {
  await service[Symbol.asyncDispose]();
  if (dir) await Deno.remove(dir, { recursive: true });
}
