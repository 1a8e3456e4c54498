// Load driver, run with Node (autocannon is a Node library): prepares `amount`
// distinct signed issuing_authorization.request events, then sends them once
// each at fixed concurrency, or at a fixed rate, and prints the result as JSON.
// By hand (deno task load installs autocannon into .cache/load):
//   AUTOCANNON_PATH=$PWD/.cache/load/node_modules/autocannon node bench/load/drive.mjs \
//     <url> <fixture.json> <secret> <requests> <connections> <rate, 0 for fixed> <first id> <cards>
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { signedLoadEvents } from "./events.mjs";

// Installed by `deno task load` into .cache/load, outside this file's node_modules lookup: by path.
const autocannon = createRequire(import.meta.url)(process.env.AUTOCANNON_PATH);
const [url, fixturePath, secret, amount, connections, rate, offset, cards] = process.argv.slice(2);
const fixture = JSON.parse(readFileSync(fixturePath, "utf8"));
const requests = signedLoadEvents(fixture, secret, Number(amount), Number(offset), Number(cards))
  .map((
    { body, header },
  ) => ({ body, headers: { "stripe-signature": header } }));

let next = 0;
let fallbacks = 0;
const fallbackKinds = {};
/**
 * The machine's CPU ticks since boot from the `cpu` line of /proc/stat (proc(5): user nice
 * system idle iowait irq softirq steal; guest time is already in user): idle (with iowait) and
 * steal (what the hypervisor gave other guests), read here so they cover the load alone, not
 * the signing above or the driver's start.
 */
function machineTicks() {
  const line = readFileSync("/proc/stat", "utf8").slice(0, 256).split("\n")[0];
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/)
    .slice(1, 9).map(Number);
  return {
    total: user + nice + system + idle + iowait + irq + softirq + steal,
    idle: idle + iowait,
    steal,
  };
}

// autocannon reports whole seconds and notices the end on a 1 s tick: time the
// run from here to the last response for a precise rate, and the machine's
// shares to within 50 ms of it.
const started = process.hrtime.bigint();
let lastResponse = started;
const machineAtStart = machineTicks();
let machineAtLast = machineAtStart;
let lastSample = started;
const instance = autocannon({
  url,
  method: "POST",
  connections: Number(connections),
  amount: Number(amount),
  overallRate: Number(rate) || undefined,
  timeout: 5,
  requests: [{
    setupRequest(request) {
      const prepared = requests[next++ % requests.length];
      return {
        ...request,
        method: "POST",
        path: "/webhook",
        body: prepared.body,
        headers: prepared.headers,
      };
    },
    onResponse(status, body) {
      // A fallback answer (the store or a policy could not decide in time) names its kind in its metadata.
      const kind = status === 200 && /"fallback:(\w+)/.exec(body)?.[1];
      if (kind) {
        fallbacks++;
        fallbackKinds[kind] = (fallbackKinds[kind] ?? 0) + 1;
      }
    },
  }],
}, (error, result) => {
  if (error) throw error;
  const { latency } = result;
  process.stdout.write(JSON.stringify({
    rps: result.requests.total / (Number(lastResponse - started) / 1e9),
    p50: latency.p50,
    p99: latency.p99,
    p999: latency.p99_9,
    errors: result.errors + result.timeouts + result.non2xx,
    fallbacks,
    fallbackKinds,
    idle: share("idle"),
    steal: share("steal"),
  }));
});
instance.on("response", () => {
  lastResponse = process.hrtime.bigint();
  if (lastResponse - lastSample >= 50_000_000n) {
    lastSample = lastResponse;
    machineAtLast = machineTicks();
  }
});

/** The share of the cores' time that went to `kind` between the start and the last response. */
function share(kind) {
  return (machineAtLast[kind] - machineAtStart[kind]) /
    (machineAtLast.total - machineAtStart.total || 1);
}
autocannon.track(instance, {
  renderProgressBar: false,
  renderResultsTable: false,
  renderLatencyTable: false,
});
