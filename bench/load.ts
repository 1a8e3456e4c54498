/**
 * `deno task load`: a reproducible load run on loopback. It starts, one after
 * the other, (a) a bare `Deno.serve` returning a constant, (b) a naive
 * single-file stripe handler, (d) the minimal durable handler (the ceiling
 * of any design that group-commits each decision to Deno KV before
 * answering), (c) this service (default pipeline, durable decision log on a
 * KV file) and (c) again under `deno serve --parallel` with 2 workers,
 * drives each with autocannon (installed from npm into `.cache/load/`) with
 * distinct signed events, first at fixed concurrency and then at a fixed
 * 2,000 requests/s, and prints one Markdown table with ratios to (a), (b)
 * and (d). `--cpu-prof <dir>` also writes a V8 CPU profile of (c).
 *
 * Bounded: each phase sends a fixed number of requests (`--requests`, default
 * 20,000) with a 5 s timeout per request; servers are killed after their phases.
 *
 * @module
 */
import { signWithHmac, TEST_SECRET } from "../tests/_helpers.ts";
import { freePort } from "../tests/_process.ts";
import { authorizationEvent } from "../fixtures/events.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const AUTOCANNON_VERSION = "8.0.0";
const CACHE = `${ROOT}.cache/load`;
const FIXTURE = `${ROOT}fixtures/issuing_authorization_request.json`;
const CONNECTIONS = 64;
const RATE = 2_000;
const requestsArg = Deno.args.indexOf("--requests");
const REQUESTS = requestsArg >= 0 ? Number(Deno.args[requestsArg + 1]) : 20_000;
const profArg = Deno.args.indexOf("--cpu-prof");
const CPU_PROF = profArg >= 0 ? Deno.args[profArg + 1] : undefined;
const onlyArg = Deno.args.indexOf("--only");
/** `--only a,d,c`: run just those servers (by letter), for a quick look. */
const ONLY = onlyArg >= 0 ? Deno.args[onlyArg + 1].split(",") : undefined;
const SERVICE_PERMISSIONS = [
  "--allow-net",
  "--allow-env",
  "--allow-read=./policies,./data",
  "--allow-write=./data",
];

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
    args: () => ["run", "--allow-net", "--allow-env", "bench/load/naive_server.ts"],
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
      ...SERVICE_PERMISSIONS,
      ...(CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${CPU_PROF}`] : []),
      "main.ts",
      "--listen",
    ],
  },
  {
    name: "(c) deno serve --parallel",
    args: (
      port,
    ) => [
      "serve",
      "--parallel",
      ...SERVICE_PERMISSIONS,
      `--port=${port}`,
      "--host=127.0.0.1",
      "main.ts",
    ],
  },
];

interface Phase {
  rps: number;
  p50: number;
  p99: number;
  p999: number;
  errors: number;
}

interface Row {
  server: string;
  fixed: Phase;
  rate: Phase;
  peakRssMiB: number;
  coldStartMs: number;
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

/** Process start → first verified 200, in ms. */
async function coldStart(
  server: Server,
  port: number,
  kvPath: string,
): Promise<[Deno.ChildProcess, number]> {
  const payload = JSON.stringify(authorizationEvent("online", { id: "iauth_cold_start" }));
  const signature = await signWithHmac(payload, TEST_SECRET);
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: server.args(port, kvPath),
    cwd: ROOT,
    env: {
      PORT: String(port),
      HOSTNAME: "127.0.0.1",
      STRIPE_WEBHOOK_SECRET: TEST_SECRET,
      KV_PATH: kvPath,
      DENO_JOBS: "2",
    },
    stdout: "null",
    stderr: "null",
  }).spawn();
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
    `${ROOT}bench/load/drive.cjs`,
    `http://127.0.0.1:${port}`,
    FIXTURE,
    TEST_SECRET,
    String(REQUESTS),
    String(CONNECTIONS),
    String(rate),
    String(offset),
  ], { AUTOCANNON_PATH: autocannon, PATH: Deno.env.get("PATH") ?? "" });
  return JSON.parse(output);
}

async function peakRssMiB(pid: number): Promise<number> {
  // Deno asks for --allow-all to read /proc directly; `cat` needs only --allow-run.
  const status = await run("cat", [`/proc/${pid}/status`]);
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

const ratio = (value: number, base: number) => `${(value / base).toFixed(2)}x`;
const ms = (value: number) => `${value.toFixed(0)} ms`;

async function main(): Promise<void> {
  const autocannon = await installAutocannon();
  const rows: Row[] = [];
  const servers = SERVERS.filter((server) => !ONLY || ONLY.includes(server.name[1]));
  for (const server of servers) {
    const kvDir = await Deno.makeTempDir({ dir: `${ROOT}data` }).catch(async () => {
      await Deno.mkdir(`${ROOT}data`, { recursive: true });
      return await Deno.makeTempDir({ dir: `${ROOT}data` });
    });
    const kvPath = `data/${kvDir.split("/").pop()}/kv.sqlite3`;
    // Cold start is noisy on a busy 2-core machine: the median of three starts,
    // each on a fresh port so no pooled connection to a killed server interferes.
    const starts: number[] = [];
    for (let i = 0; i < 2; i++) {
      const [probe, ms] = await coldStart(server, freePort(), `${kvPath}.${i}`);
      starts.push(ms);
      probe.kill("SIGKILL");
      await probe.status;
    }
    const port = freePort();
    const [child, lastStartMs] = await coldStart(server, port, kvPath);
    const coldStartMs = [...starts, lastStartMs].sort((a, b) => a - b)[1];
    try {
      console.error(`${server.name}: cold start ${coldStartMs.toFixed(0)} ms; fixed concurrency…`);
      const fixed = await drive(autocannon, port, 0, 0);
      console.error(`${server.name}: ${RATE} requests/s…`);
      const rate = await drive(autocannon, port, RATE, REQUESTS);
      rows.push({
        server: server.name,
        fixed,
        rate,
        peakRssMiB: await peakRssMiB(child.pid),
        coldStartMs,
      });
    } finally {
      // SIGINT lets a profiled process write its profile; the others stop at once.
      child.kill(CPU_PROF && server.name === "(c) this service" ? "SIGINT" : "SIGKILL");
      await child.status;
      await Deno.remove(kvDir, { recursive: true });
    }
  }
  const byLetter = (letter: string) => rows.find((row) => row.server[1] === letter) ?? rows[0];
  const [a, b, d] = ["a", "b", "d"].map(byLetter);
  const lines = [
    `Load on loopback: ${REQUESTS} distinct signed requests per phase, ${CONNECTIONS} connections; ` +
    `"fixed" = as fast as possible, "rate" = ${RATE} requests/s.`,
    "",
    "| server | phase | req/s | p50 | p99 | p99.9 | errors | req/s vs (a) | req/s vs (b) | req/s vs (d) | p99 vs (b) | p99 vs (d) |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const row of rows) {
    for (const phase of ["fixed", "rate"] as const) {
      const p = row[phase];
      lines.push(
        `| ${row.server} | ${phase} | ${p.rps.toFixed(0)} | ${ms(p.p50)} | ${ms(p.p99)} | ${
          ms(p.p999)
        } | ${p.errors} | ` +
          `${ratio(p.rps, a[phase].rps)} | ${ratio(p.rps, b[phase].rps)} | ${
            ratio(p.rps, d[phase].rps)
          } | ${ratio(p.p99, b[phase].p99)} | ${ratio(p.p99, d[phase].p99)} |`,
      );
    }
  }
  lines.push(
    "",
    "| server | peak RSS | cold start (median of 3) | RSS vs (b) | RSS vs (d) | cold start vs (a) | cold start vs (b) |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const row of rows) {
    lines.push(
      `| ${row.server} | ${row.peakRssMiB.toFixed(1)} MiB | ${row.coldStartMs.toFixed(0)} ms | ` +
        `${ratio(row.peakRssMiB, b.peakRssMiB)} | ${ratio(row.peakRssMiB, d.peakRssMiB)} | ` +
        `${ratio(row.coldStartMs, a.coldStartMs)} | ${ratio(row.coldStartMs, b.coldStartMs)} |`,
    );
  }
  console.log(lines.join("\n"));
}

await main();
