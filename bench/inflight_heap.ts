/**
 * What a request waiting for its commit keeps on the heap, by kind: the
 * young generation's survivors under load are mostly requests in flight,
 * and each is copied by the scavenges it lives through (scavenges take about
 * 22 µs a request at 8 MiB semi-spaces, BENCHMARKS.md). The service's
 * `fetch` decides 2,000 events of `deno task load` in-process, then 64 more
 * whose commits are held (most of them wait inside the two commits in flight,
 * the rest queued: the figure moves with how many are held); a heap snapshot
 * while they wait and one once they are answered: what the first holds and
 * the second no longer does, by node kind, per request, and the async
 * functions suspended for them. A first hold, release
 * and snapshot beforehand compile and load what those need, so it is not
 * counted.
 *
 * Usage: `deno run --allow-all --v8-flags=--expose-gc bench/inflight_heap.ts`
 *
 * @module
 */
import { writeHeapSnapshot } from "node:v8";
import { benchService, loadEvents, withCommits } from "./_service.ts";

const SECRET = "whsec_inflight_heap_0123456789";
const IN_FLIGHT = 64;
const WARM_UP = 2_000;
const events = loadEvents(SECRET, WARM_UP + 2 * IN_FLIGHT);
const dir = await Deno.makeTempDir();

using raw = await Deno.openKv(":memory:");
let holding: Promise<void> | undefined;
let waiting = 0;
/** `raw` whose commits wait while `holding` is set. */
const kv = withCommits(raw, async (commit) => {
  if (holding) {
    waiting++;
    await holding;
    waiting--;
  }
  return await commit();
});
const { service, post } = await benchService(kv, SECRET);

interface HeapSnapshot {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: string[];
      readonly node_types: [string[]];
      readonly edge_fields: string[];
      readonly edge_types: [string[]];
    };
  };
  readonly nodes: number[];
  readonly edges: number[];
  readonly strings: string[];
}

/** A heap snapshot after a full collection. */
async function snapshot(name: string): Promise<HeapSnapshot> {
  (globalThis as { gc?: () => void }).gc?.();
  const file = writeHeapSnapshot(`${dir}/${name}.heapsnapshot`);
  return JSON.parse(await Deno.readTextFile(file));
}

/** The ids of the snapshot's nodes (V8 keeps an object's id from one snapshot to the next). */
function idsOf(heap: HeapSnapshot): Set<number> {
  const { node_fields } = heap.snapshot.meta;
  const id = node_fields.indexOf("id");
  const ids = new Set<number>();
  for (let i = 0; i < heap.nodes.length; i += node_fields.length) ids.add(heap.nodes[i + id]);
  return ids;
}

/**
 * Bytes and count by kind of the snapshot's nodes not in `kept` (those still there later), and
 * the async functions its generators run.
 */
function tally(heap: HeapSnapshot, kept: Set<number>) {
  const { node_fields, node_types, edge_fields, edge_types } = heap.snapshot.meta;
  const [nf, ef] = [node_fields.length, edge_fields.length];
  const at = (field: string) => node_fields.indexOf(field);
  const [type, name, size, edgeCount, id] = [
    at("type"),
    at("name"),
    at("self_size"),
    at("edge_count"),
    at("id"),
  ];
  const kinds = new Map<string, { bytes: number; count: number }>();
  const add = (key: string, bytes: number) => {
    const kind = kinds.get(key) ?? { bytes: 0, count: 0 };
    kind.bytes += bytes;
    kind.count++;
    kinds.set(key, kind);
  };
  let edge = 0;
  for (let i = 0; i < heap.nodes.length; edge += heap.nodes[i + edgeCount] * ef, i += nf) {
    if (kept.has(heap.nodes[i + id])) continue;
    const kind = node_types[0][heap.nodes[i + type]];
    const label = heap.strings[heap.nodes[i + name]];
    add(kind === "object" ? label : `(${kind})`, heap.nodes[i + size]);
    if (kind === "object" && label === "Generator") {
      for (let e = edge; e < edge + heap.nodes[i + edgeCount] * ef; e += ef) {
        if (edge_types[0][heap.edges[e]] !== "internal") continue;
        if (heap.strings[heap.edges[e + 1]] !== "function") continue;
        const fn = heap.strings[heap.nodes[heap.edges[e + 2] + name]] || "(anonymous)";
        add(`async ${fn}`, 0);
      }
    }
  }
  return kinds;
}

/** Posts `batch` with its commits held; resolves with what `whileHeld` gave, once all are answered. */
async function held<T>(batch: typeof events, whileHeld: () => Promise<T>): Promise<T> {
  const { promise, resolve: release } = Promise.withResolvers<void>();
  holding = promise;
  const answers = batch.map(post);
  while (waiting === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  await new Promise((resolve) => setTimeout(resolve, 100));
  const result = await whileHeld();
  holding = undefined;
  release();
  await Promise.all(answers);
  return result;
}

let during;
try {
  for (let i = 0; i < WARM_UP; i += IN_FLIGHT) {
    await Promise.all(events.slice(i, i + IN_FLIGHT).map(post));
  }
  // Compiles the held path and loads what a snapshot needs before anything is counted.
  await held(events.slice(WARM_UP, WARM_UP + IN_FLIGHT), async () => {});
  writeHeapSnapshot(`${dir}/unused.heapsnapshot`);
  const whileHeld = await held(events.slice(WARM_UP + IN_FLIGHT), () => snapshot("during"));
  // What the requests kept while they waited: gone once they are answered.
  during = tally(whileHeld, idsOf(await snapshot("after")));
} finally {
  await service[Symbol.asyncDispose]();
  await Deno.remove(dir, { recursive: true });
}

const all = [...during].map(([key, { bytes, count }]) => ({
  key,
  bytes: bytes / IN_FLIGHT,
  count: count / IN_FLIGHT,
}));
const total = all.reduce((sum, row) => sum + row.bytes, 0);
const rows = all.filter((row) =>
  row.bytes >= 50 || (row.key.startsWith("async ") && row.count >= 1)
);
console.log(`Kept on the heap per request waiting for its commit (${IN_FLIGHT} waiting):`);
console.log(`\n| kind | bytes | count |\n| --- | ---: | ---: |`);
for (
  const row of rows.filter((row) => !row.key.startsWith("async ")).sort((a, b) => b.bytes - a.bytes)
) {
  console.log(`| ${row.key} | ${row.bytes.toFixed(0)} | ${row.count.toFixed(1)} |`);
}
console.log(`| all kinds (those under 50 bytes too) | ${total.toFixed(0)} | |`);
const suspended = rows.filter((row) => row.key.startsWith("async ")).map((row) => row.key.slice(6));
// `post` is this script's own (it holds the request and reads the answer), as `deno serve` would.
console.log(`\nAsync functions suspended per request: ${suspended.join(", ")}`);
