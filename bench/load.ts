/**
 * `deno task load`: a reproducible load run on loopback. It starts, one after
 * the other, (a) a bare `Deno.serve` returning a constant, (b) a naive
 * single-file stripe handler, alone and under `deno serve --parallel` with 2
 * workers (how much a second worker adds on this machine with nothing
 * shared), (d) the minimal durable handler (the ceiling
 * of any design that group-commits each decision to Deno KV before
 * answering), (c) this service (default pipeline, durable decision log on a
 * KV file) and (c) again under `deno serve --parallel` with 2 workers,
 * drives each with autocannon (installed from npm into `.cache/load/`) with
 * distinct signed events, first at fixed concurrency and then at a fixed
 * 2,000 requests/s, and (c) once more at 2,000 requests/s while 8 clients
 * reload the dashboard. All of it `--rounds` times (default 3), servers
 * alternating, and prints Markdown tables of the medians with ratios to (a),
 * (b) and (d): on a shared 2-core machine one run of a server can be 30% off
 * the next, and alternating rounds spread that over every server alike.
 * `--cpu-prof <dir>` also writes a V8 CPU profile of (c); `--cards N`
 * spreads the events over N cards instead of 50.
 *
 * Bounded: each phase sends a fixed number of requests (`--requests`, default
 * 20,000) with a 5 s timeout per request; servers are killed after their phases.
 *
 * @module
 */
import { signInToDashboard, signWithHmac, TEST_SECRET } from "../tests/_helpers.ts";
import { freePort, serveParallelArgs, startTaskFlags } from "../tests/_process.ts";
import { countArg, median, textArg, type ThreadCpu, threadCpuMs } from "./_measure.ts";
import { authorizationEvent } from "../fixtures/events.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const AUTOCANNON_VERSION = "8.0.0";
const CACHE = `${ROOT}.cache/load`;
const FIXTURE = `${ROOT}fixtures/issuing_authorization_request.json`;
/** Each server's stderr (its warnings and errors), a file per server and round, kept after the run. */
const LOGS = `${CACHE}/logs`;
const CONNECTIONS = 64;
const RATE = 2_000;
const REQUESTS = countArg(Deno.args, "--requests", 20_000);
/** Cards the events are spread over (`--cards`; counters shared by more requests with fewer). */
const CARDS = countArg(Deno.args, "--cards", 50);
const CPU_PROF = textArg(Deno.args, "--cpu-prof");
const ROUNDS = countArg(Deno.args, "--rounds", 3);
/** Clients reloading the dashboard beside webhooks (issue 15: "8 clients"). */
const DASHBOARD_CLIENTS = 8;
const ADMIN_TOKEN = "load-admin-token-0123456789abcdef";
/** `--only a,d,c`: run just those servers (by letter), for a quick look. */
const ONLY = textArg(Deno.args, "--only")?.split(",");
/** (c) runs with exactly the `start` task's flags (deno.json): its permissions and V8 flags. */
const SERVICE_FLAGS = startTaskFlags();

interface Server {
  readonly name: string;
  readonly args: (port: number, kvPath: string) => string[];
}

const SERVERS: Server[] = [
  {
    name: "(a) bare Deno.serve",
    args: () => ["run", "--allow-net", "--allow-env", "bench/load/bare_server.ts"],
  },
  {
    name: "(b) naive stripe handler",
    args: (port) => naiveServerArgs(port, []),
  },
  {
    // Nothing shared between its workers: what a second worker adds on this machine at all.
    name: "(b) naive deno serve --parallel",
    args: (port) => naiveServerArgs(port, ["--parallel"]),
  },
  {
    name: "(d) minimal durable handler",
    args: () => [
      "run",
      "--allow-net",
      "--allow-env",
      "--allow-read=./data",
      "--allow-write=./data",
      "bench/load/durable_server.ts",
    ],
  },
  {
    name: "(c) this service",
    args: () => [
      "run",
      ...SERVICE_FLAGS,
      ...(CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${CPU_PROF}`] : []),
      "main.ts",
      "--listen",
    ],
  },
  {
    name: "(c) deno serve --parallel",
    args: (port) => serveParallelArgs(port),
  },
];

/** (b) under `deno serve` on 127.0.0.1:`port`, with `--parallel` or not (workers: `DENO_JOBS`). */
function naiveServerArgs(port: number, flags: string[]): string[] {
  return [
    "serve",
    ...flags,
    "--allow-net",
    "--allow-env",
    `--port=${port}`,
    "--host=127.0.0.1",
    "bench/load/naive_server.ts",
  ];
}

interface Phase {
  rps: number;
  p50: number;
  p99: number;
  p999: number;
  errors: number;
  /** Fallback answers (the store's or a policy's: their metadata names it). */
  fallbacks: number;
  /** The fallbacks by kind (`store_timeout`, `store_error`, …). */
  fallbackKinds: Record<string, number>;
  /** Shares of the machine's cores over the load (from the driver): idle, and taken by the hypervisor. */
  idle: number;
  steal: number;
}

/** One round of one server. */
interface Run {
  fixed: Phase;
  rate: Phase;
  /** (c) only: the rate phase again, with dashboard clients reloading. */
  dashboard?: Phase & { pages: number; pageP50: number };
  peakRssMiB: number;
  /** What of the resident memory is file-backed at the end of the round (mostly the executable's code). */
  fileRssMiB: number;
  coldStartMs: number[];
  /** CPU time per request in the fixed phase, µs: the whole process, and its KV writer threads. */
  cpu: { total: number; kv: number };
}

async function run(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(command, { args, env, cwd: ROOT })
    .output();
  if (code !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed: ${new TextDecoder().decode(stderr)}`);
  }
  return new TextDecoder().decode(stdout);
}

async function installAutocannon(): Promise<string> {
  const path = `${CACHE}/node_modules/autocannon`;
  try {
    await Deno.stat(path);
  } catch {
    await run("npm", [
      "install",
      "--prefix",
      CACHE,
      "--no-audit",
      "--no-fund",
      `autocannon@${AUTOCANNON_VERSION}`,
    ]);
  }
  return path;
}

/** Process start → first verified 200, in ms. With `logPath`, its stderr (warnings, errors) goes there. */
async function coldStart(
  server: Server,
  port: number,
  kvPath: string,
  logPath?: string,
): Promise<[Deno.ChildProcess, number]> {
  const payload = JSON.stringify(authorizationEvent("online", { id: "iauth_cold_start" }));
  const signature = await signWithHmac(payload, TEST_SECRET);
  const log = logPath
    ? await Deno.open(logPath, { write: true, create: true, truncate: true })
    : undefined;
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: server.args(port, kvPath),
    cwd: ROOT,
    env: {
      ADMIN_TOKEN,
      PORT: String(port),
      HOSTNAME: "127.0.0.1",
      STRIPE_WEBHOOK_SECRET: TEST_SECRET,
      KV_PATH: kvPath,
      DENO_JOBS: "2",
    },
    stdout: "null",
    stderr: log ? "piped" : "null",
  }).spawn();
  log && child.stderr.pipeTo(log.writable).catch(() => {});
  const deadline = started + 30_000;
  while (performance.now() < deadline) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/webhook`, {
        method: "POST",
        headers: { "stripe-signature": signature },
        body: payload,
      });
      await response.body?.cancel();
      if (response.status === 200) return [child, performance.now() - started];
    } catch { /* not listening yet */ }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  child.kill();
  throw new Error(`${server.name} did not answer within 30 s`);
}

async function drive(
  autocannon: string,
  port: number,
  rate: number,
  offset: number,
): Promise<Phase> {
  const output = await run("node", [
    `${ROOT}bench/load/drive.mjs`,
    `http://127.0.0.1:${port}`,
    FIXTURE,
    TEST_SECRET,
    String(REQUESTS),
    String(CONNECTIONS),
    String(rate),
    String(offset),
    String(CARDS),
  ], { AUTOCANNON_PATH: autocannon });
  return JSON.parse(output);
}

/** Reloads the overview (last 24 h) from `DASHBOARD_CLIENTS` clients until `until` settles. */
async function reloadDashboard(
  base: string,
  until: Promise<unknown>,
): Promise<{ pages: number; pageP50: number }> {
  let done = false;
  until.finally(() => done = true);
  const times: number[] = [];
  await Promise.all(Array.from({ length: DASHBOARD_CLIENTS }, async () => {
    // Each client is its own person, with its own session (and its own copy of the page).
    const cookie = await signInToDashboard(base, ADMIN_TOKEN);
    while (!done) {
      const started = performance.now();
      const page = await fetch(`${base}/dashboard?range=24h`, { headers: { cookie } });
      await page.text();
      if (page.status !== 200) throw new Error(`dashboard answered ${page.status}`);
      times.push(performance.now() - started);
    }
  }));
  return { pages: times.length, pageP50: median(times) };
}

/** CPU time the process's threads have used, in ms: all of them, and SQLite's writer threads. */
async function cpuMs(pid: number): Promise<{ total: number; kv: number }> {
  const threads = await threadCpuMs(pid);
  const sum = (list: ThreadCpu[]) => list.reduce((total, { ms }) => total + ms, 0);
  return { total: sum(threads), kv: sum(threads.filter(({ name }) => name.startsWith("sw-"))) };
}

/** Each metric of `phases` as its median; errors and fallbacks as their total. */
function medianPhase(phases: readonly Phase[]): Phase {
  const of = (pick: (phase: Phase) => number) => median(phases.map(pick));
  const total = (pick: (phase: Phase) => number) =>
    phases.reduce((sum, phase) => sum + pick(phase), 0);
  return {
    rps: of((p) => p.rps),
    p50: of((p) => p.p50),
    p99: of((p) => p.p99),
    p999: of((p) => p.p999),
    idle: of((p) => p.idle),
    steal: of((p) => p.steal),
    errors: total((p) => p.errors),
    fallbacks: total((p) => p.fallbacks),
    fallbackKinds: phases.reduce<Record<string, number>>((kinds, phase) => {
      for (const [kind, n] of Object.entries(phase.fallbackKinds)) {
        kinds[kind] = (kinds[kind] ?? 0) + n;
      }
      return kinds;
    }, {}),
  };
}

/**
 * The process's peak resident memory, and how much of what is resident now
 * is file-backed: mostly the pages of the `deno` executable's code it ran
 * (and of shared libraries, and SQLite's small `-shm` mapping), which the
 * kernel can drop and read again; the rest is the process's own (heap,
 * buffers, SQLite's cache).
 */
async function residentMiB(pid: number): Promise<{ peak: number; file: number }> {
  // Deno asks for --allow-all to read /proc directly; `cat` needs only --allow-run.
  const status = await run("cat", [`/proc/${pid}/status`]);
  const kB = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)![1]);
  return { peak: kB("VmHWM") / 1024, file: kB("RssFile") / 1024 };
}

/** `value / base`, or a dash where the baseline did not run (`--only`). */
const ratio = (value: number, base: number | undefined) =>
  base === undefined ? "–" : `${(value / base).toFixed(2)}x`;
const ms = (value: number) => `${value.toFixed(0)} ms`;
const percent = (share: number) => `${(share * 100).toFixed(0)}%`;
/** `49 (store_timeout: 49)`, or `0`. */
const fallbacksOf = ({ fallbacks, fallbackKinds }: Phase) =>
  fallbacks === 0
    ? "0"
    : `${fallbacks} (${
      Object.entries(fallbackKinds).map(([kind, n]) => `${kind}: ${n}`).join(", ")
    })`;

/** One round of `server`: cold starts, then its phases on a fresh KV file. */
async function measure(server: Server, autocannon: string, round: number): Promise<Run> {
  await Deno.mkdir(`${ROOT}data`, { recursive: true });
  const kvDir = await Deno.makeTempDir({ dir: `${ROOT}data` });
  const kvPath = `data/${kvDir.split("/").pop()}/kv.sqlite3`;
  // Cold start is noisy on a busy 2-core machine: three starts per round, each on a
  // fresh port so no pooled connection to a killed server interferes.
  const coldStartMs: number[] = [];
  for (let i = 0; i < 2; i++) {
    const [probe, ms] = await coldStart(server, freePort(), `${kvPath}.${i}`);
    coldStartMs.push(ms);
    probe.kill("SIGKILL");
    await probe.status;
  }
  const port = freePort();
  const [child, lastStartMs] = await coldStart(server, port, kvPath, logPathOf(server, round));
  coldStartMs.push(lastStartMs);
  try {
    console.error(`${server.name}: fixed concurrency…`);
    const before = await cpuMs(child.pid);
    const fixed = await drive(autocannon, port, 0, 0);
    const after = await cpuMs(child.pid);
    const cpu = {
      total: (after.total - before.total) * 1_000 / REQUESTS,
      kv: (after.kv - before.kv) * 1_000 / REQUESTS,
    };
    console.error(`${server.name}: ${RATE} requests/s…`);
    const rate = await drive(autocannon, port, RATE, REQUESTS);
    let dashboard: Run["dashboard"];
    if (server.name === "(c) this service") {
      console.error(`${server.name}: ${RATE} requests/s, ${DASHBOARD_CLIENTS} dashboard clients…`);
      const phase = drive(autocannon, port, RATE, 2 * REQUESTS);
      const [webhooks, pages] = await Promise.all([
        phase,
        reloadDashboard(`http://127.0.0.1:${port}`, phase),
      ]);
      dashboard = { ...webhooks, ...pages };
    }
    const resident = await residentMiB(child.pid);
    return {
      fixed,
      rate,
      dashboard,
      peakRssMiB: resident.peak,
      fileRssMiB: resident.file,
      coldStartMs,
      cpu,
    };
  } finally {
    // SIGINT lets a profiled process write its profile; the others stop at once.
    child.kill(CPU_PROF && server.name === "(c) this service" ? "SIGINT" : "SIGKILL");
    await child.status;
    await Deno.remove(kvDir, { recursive: true });
  }
}

/** Kept, so a fallback or an error in the tables can be traced to what the server logged. */
const logPathOf = (server: Server, round: number) =>
  `${LOGS}/${server.name.replace(/\W+/g, "-").replace(/^-|-$/g, "")}-round${round}.log`;

async function main(): Promise<void> {
  const autocannon = await installAutocannon();
  // Only this run's logs: an earlier run's other rounds would look current.
  await Deno.remove(LOGS, { recursive: true }).catch(() => {});
  await Deno.mkdir(LOGS, { recursive: true });
  const servers = SERVERS.filter((server) => !ONLY || ONLY.includes(server.name[1]));
  const runs = new Map<Server, Run[]>(servers.map((server) => [server, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const server of servers) {
      console.error(`round ${round}/${ROUNDS}, ${server.name}`);
      const run = await measure(server, autocannon, round);
      const phases = [["fixed", run.fixed], ["rate", run.rate], ["dashboard", run.dashboard]];
      for (const [phase, result] of phases as [string, Phase | undefined][]) {
        if (!result?.fallbacks) continue;
        console.error(
          `${server.name}, ${phase}: ${fallbacksOf(result)}; its log: ${logPathOf(server, round)}`,
        );
      }
      runs.get(server)!.push(run);
    }
  }
  const rows = servers.map((server) => {
    const all = runs.get(server)!;
    return {
      server: server.name,
      fixed: medianPhase(all.map((run) => run.fixed)),
      rate: medianPhase(all.map((run) => run.rate)),
      fixedRange: [
        Math.min(...all.map((r) => r.fixed.rps)),
        Math.max(...all.map((r) => r.fixed.rps)),
      ],
      dashboard: all[0].dashboard && {
        ...medianPhase(all.map((run) => run.dashboard!)),
        pages: all.reduce((sum, run) => sum + run.dashboard!.pages, 0),
        pageP50: median(all.map((run) => run.dashboard!.pageP50)),
      },
      peakRssMiB: median(all.map((run) => run.peakRssMiB)),
      fileRssMiB: median(all.map((run) => run.fileRssMiB)),
      cpu: {
        total: median(all.map((run) => run.cpu.total)),
        kv: median(all.map((run) => run.cpu.kv)),
      },
      coldStartMs: median(all.flatMap((run) => run.coldStartMs)),
    };
  });
  const byLetter = (letter: string) => rows.find((row) => row.server[1] === letter);
  const [a, b, d] = ["a", "b", "d"].map(byLetter);
  const lines = [
    `Load on loopback: ${REQUESTS} distinct signed requests per phase, ${CONNECTIONS} connections; ` +
    `"fixed" = as fast as possible, "rate" = ${RATE} requests/s; medians of ${ROUNDS} rounds ` +
    `(servers alternating), errors and fallbacks summed over the rounds.`,
    "",
    "| server | phase | req/s | req/s range | p50 | p99 | p99.9 | errors | fallbacks | req/s vs (a) | req/s vs (b) | req/s vs (d) | p99 vs (b) | p99 vs (d) |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const row of rows) {
    for (const phase of ["fixed", "rate"] as const) {
      const p = row[phase];
      const range = phase === "fixed"
        ? `${row.fixedRange[0].toFixed(0)}–${row.fixedRange[1].toFixed(0)}`
        : "";
      lines.push(
        `| ${row.server} | ${phase} | ${p.rps.toFixed(0)} | ${range} | ${ms(p.p50)} | ${
          ms(p.p99)
        } | ${ms(p.p999)} | ${p.errors} | ${fallbacksOf(p)} | ` +
          `${ratio(p.rps, a?.[phase].rps)} | ${ratio(p.rps, b?.[phase].rps)} | ${
            ratio(p.rps, d?.[phase].rps)
          } | ${ratio(p.p99, b?.[phase].p99)} | ${ratio(p.p99, d?.[phase].p99)} |`,
      );
    }
  }
  const c = rows.find((row) => row.dashboard);
  if (c?.dashboard) {
    const p = c.dashboard;
    lines.push(
      "",
      `| (c) at ${RATE} req/s | req/s | p50 | p99 | errors | fallbacks | p99 vs without dashboard | p99 vs (d) | dashboard pages | page p50 |`,
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
      `| ${DASHBOARD_CLIENTS} clients reloading the dashboard | ${p.rps.toFixed(0)} | ${
        ms(p.p50)
      } | ${ms(p.p99)} | ${p.errors} | ${fallbacksOf(p)} | ${ratio(p.p99, c.rate.p99)} | ${
        ratio(p.p99, d?.rate.p99)
      } | ${p.pages} | ${ms(p.pageP50)} |`,
    );
  }
  lines.push(
    "",
    "| server | CPU/request (fixed) | of it, KV writer | CPU vs (d) | machine idle (fixed) | steal (fixed) | peak RSS | file-backed at the end | cold start | RSS vs (b) | RSS vs (d) | cold start vs (a) | cold start vs (b) |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const row of rows) {
    lines.push(
      `| ${row.server} | ${row.cpu.total.toFixed(0)} µs | ${row.cpu.kv.toFixed(0)} µs | ${
        ratio(row.cpu.total, d?.cpu.total)
      } | ${percent(row.fixed.idle)} | ${percent(row.fixed.steal)} | ${
        row.peakRssMiB.toFixed(1)
      } MiB | ${row.fileRssMiB.toFixed(1)} MiB | ${row.coldStartMs.toFixed(0)} ms | ` +
        `${ratio(row.peakRssMiB, b?.peakRssMiB)} | ${ratio(row.peakRssMiB, d?.peakRssMiB)} | ` +
        `${ratio(row.coldStartMs, a?.coldStartMs)} | ${ratio(row.coldStartMs, b?.coldStartMs)} |`,
    );
  }
  const parallel = rows.filter((row) => row.server.includes("--parallel"));
  if (parallel.length > 0) {
    lines.push(
      "",
      "| 2 workers (`deno serve --parallel`) | req/s (fixed) vs one process | CPU/request vs one process | machine idle (fixed), one process → 2 workers |",
      "| --- | ---: | ---: | ---: |",
    );
  }
  for (const row of parallel) {
    const one = rows.find((other) => other.server[1] === row.server[1] && other !== row)!;
    lines.push(
      `| ${row.server} | ${ratio(row.fixed.rps, one.fixed.rps)} | ${
        ratio(row.cpu.total, one.cpu.total)
      } | ${percent(one.fixed.idle)} → ${percent(row.fixed.idle)} |`,
    );
  }
  console.log(lines.join("\n"));
}

await main();
