/**
 * The JS thread's CPU time per request of the webhook handlers, in-process:
 * no HTTP listener and no load generator sharing the cores, so the figure
 * moves less between runs than `deno task load`'s. The thread that answers
 * webhooks is this service's bottleneck under load (BENCHMARKS.md), and this
 * is the number to watch when making it cheaper. Work other threads do is not
 * in it: (d)'s HMAC (Web Crypto signs on a worker thread; this service's
 * `node:crypto` HMAC is on the JS thread) and SQLite's writes for both.
 *
 * Stages, alternating for `--rounds` (default 3), each on `--requests`
 * (default 8,000) distinct signed events of `deno task load`, 64 at a time:
 * - (d) the minimal durable handler (`bench/load/durable_server.ts`), on a KV file;
 * - (c) this service's `fetch` (default and shadow pipelines, as `main.ts`), on a KV file;
 * - this service's signature verifier alone (part of (c));
 * - with `--against <dir>`, (c) as another checkout of this repository at
 *   `<dir>` has it (a `git worktree` of an earlier commit), and its cost
 *   against (c) here: an A/B of two versions of the code, round by round.
 *
 * Usage: `deno task bench:handler [--requests N] [--rounds R] [--against <dir>]` (with the
 * `start` task's V8 flag, as the service runs, and `--expose-gc` to collect each stage's setup
 * before it is timed).
 *
 * @module
 */
import { createService } from "../lib/service/service.ts";
import { createWebhookVerifier } from "../lib/http/webhook_verifier.ts";
import { jsonLineLogger } from "../lib/telemetry/log.ts";
import { defaultPipeline } from "../policies/mod.ts";
import { shadowPipeline } from "../policies/shadow.ts";
import { createDurableHandler } from "./load/durable_server.ts";
import { countArg, median, textArg, threadCpuMs } from "./_measure.ts";
import { answered, loadEvents, type SignedEvent, signedRequest } from "./_service.ts";

const SECRET = "whsec_handler_cost_0123456789";
const CONCURRENCY = 64;
const REQUESTS = countArg(Deno.args, "--requests", 8_000);
const ROUNDS = countArg(Deno.args, "--rounds", 3);
const AGAINST = textArg(Deno.args, "--against");
type Handle = (event: SignedEvent) => Promise<void>;
interface Stage {
  readonly name: string;
  /** Builds the handler on a fresh KV file in `dir`; returns it and what closes it. */
  open(dir: string): Promise<[Handle, () => PromiseLike<void>]>;
}

const STAGES: Stage[] = [
  {
    name: "(d) minimal durable handler",
    async open(dir) {
      const kv = await Deno.openKv(`${dir}/kv.sqlite3`);
      const handle = await createDurableHandler(kv, SECRET);
      return [
        async (event) => answered(await handle(signedRequest(event))),
        () => Promise.resolve(kv.close()),
      ];
    },
  },
  serviceStage("(c) this service", {
    createService,
    jsonLineLogger,
    defaultPipeline,
    shadowPipeline,
    root: new URL("../", import.meta.url),
  }),
  {
    name: "(c)'s signature verifier alone",
    open() {
      const verify = createWebhookVerifier({ secrets: [SECRET] });
      return Promise.resolve([
        async ({ body, header }) => void await verify(body, header),
        () => Promise.resolve(),
      ]);
    },
  },
  ...(AGAINST ? [serviceStage(`(c) at ${AGAINST}`, await modulesAt(AGAINST))] : []),
];

/** What (c) is built from, in one checkout of this repository. */
interface ServiceModules {
  readonly createService: typeof createService;
  readonly jsonLineLogger: typeof jsonLineLogger;
  readonly defaultPipeline: typeof defaultPipeline;
  readonly shadowPipeline: typeof shadowPipeline;
  /** The checkout's root directory. */
  readonly root: URL;
}

/** The modules (c) is built from in the checkout at `dir`. */
async function modulesAt(dir: string): Promise<ServiceModules> {
  const root = new URL(dir.replace(/\/?$/, "/"), `file://${Deno.cwd()}/`);
  const from = (path: string) => import(new URL(path, root).href);
  return {
    ...await from("lib/service/service.ts"),
    ...await from("lib/telemetry/log.ts"),
    ...await from("policies/mod.ts"),
    ...await from("policies/shadow.ts"),
    root,
  };
}

/** (c): the service's `fetch` (default and shadow pipelines, as `main.ts`) on a KV file. */
function serviceStage(name: string, modules: ServiceModules): Stage {
  return {
    name,
    async open(dir) {
      const service = await modules.createService(
        new Map([["STRIPE_WEBHOOK_SECRET", SECRET], ["KV_PATH", `${dir}/kv.sqlite3`]]),
        {
          policies: modules.defaultPipeline,
          shadowPolicies: modules.shadowPipeline,
          policiesDir: new URL("policies/", modules.root),
          serviceVersion: "bench",
          // Serialized as in production, written nowhere.
          log: modules.jsonLineLogger(() => {}),
        },
      );
      return [
        async (event) => answered(await service.fetch(signedRequest(event))),
        () => service[Symbol.asyncDispose](),
      ];
    },
  };
}

/** CPU time of this process's main thread (the JS thread: its tid is the process's), in ms. */
async function mainThreadMs(): Promise<number> {
  return (await threadCpuMs(Deno.pid)).find(({ tid }) => tid === Deno.pid)!.ms;
}
const results = new Map(
  STAGES.map((stage) => [stage, { cpu: [] as number[], wall: [] as number[] }]),
);
let offset = 0;
for (let round = 1; round <= ROUNDS; round++) {
  // The two versions of (c) take each other's place every other round: neither always runs
  // after the same stage.
  const order = AGAINST && round % 2 === 0
    ? [...STAGES.slice(0, 1), ...STAGES.slice(1).reverse()]
    : STAGES;
  for (const stage of order) {
    const events = loadEvents(SECRET, REQUESTS, offset);
    offset += REQUESTS;
    const dir = await Deno.makeTempDir();
    const [handle, close] = await stage.open(dir);
    try {
      // The events just made and the last stage's garbage are not this stage's cost.
      (globalThis as { gc?: () => void }).gc?.();
      const cpuBefore = await mainThreadMs();
      const started = performance.now();
      for (let i = 0; i < events.length; i += CONCURRENCY) {
        await Promise.all(events.slice(i, i + CONCURRENCY).map(handle));
      }
      const wall = performance.now() - started;
      const cpu = await mainThreadMs() - cpuBefore;
      results.get(stage)!.cpu.push(cpu * 1_000 / REQUESTS);
      results.get(stage)!.wall.push(wall * 1_000 / REQUESTS);
      console.error(
        `round ${round}/${ROUNDS}, ${stage.name}: ${(cpu * 1_000 / REQUESTS).toFixed(0)} µs`,
      );
    } finally {
      await close();
      await Deno.remove(dir, { recursive: true });
    }
  }
}
const d = median(results.get(STAGES[0])!.cpu);
console.log(
  [
    `In-process, ${REQUESTS} distinct signed requests per stage, ${CONCURRENCY} at a time; medians of ${ROUNDS} rounds.`,
    "",
    "| handler | JS thread CPU/request | vs (d) | wall time/request |",
    "| --- | ---: | ---: | ---: |",
    ...STAGES.map((stage) => {
      const { cpu, wall } = results.get(stage)!;
      const m = median(cpu);
      return `| ${stage.name} | ${m.toFixed(0)} µs | ${(m / d).toFixed(2)}x | ${
        median(wall).toFixed(0)
      } µs |`;
    }),
  ].join("\n"),
);
if (AGAINST) {
  // Round by round: the two versions ran seconds apart, on the machine as it was then.
  const here = results.get(STAGES[1])!.cpu;
  const there = results.get(STAGES.at(-1)!)!.cpu;
  const ratios = here.map((cpu, i) => cpu / there[i]);
  console.log(
    `\n(c) here against (c) at ${AGAINST}: ${(median(here) / median(there)).toFixed(3)}x ` +
      `(rounds ${ratios.map((ratio) => ratio.toFixed(2)).join(", ")})`,
  );
}
