// Load driver, run with Node (autocannon is a Node library): prepares `amount`
// distinct signed issuing_authorization.request events, then sends them once
// each at fixed concurrency, or at a fixed rate, and prints the result as JSON.
// By hand (deno task load installs autocannon into .cache/load):
//   AUTOCANNON_PATH=$PWD/.cache/load/node_modules/autocannon node bench/load/drive.mjs \
//     <url> <fixture.json> <secret> <requests> <connections> <rate, 0 for fixed> <first id>
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { signedLoadEvents } from "./events.mjs";

// Installed by `deno task load` into .cache/load, outside this file's node_modules lookup: by path.
const autocannon = createRequire(import.meta.url)(process.env.AUTOCANNON_PATH);
const [url, fixturePath, secret, amount, connections, rate, offset] = process.argv.slice(2);
const fixture = JSON.parse(readFileSync(fixturePath, "utf8"));
const requests = signedLoadEvents(fixture, secret, Number(amount), Number(offset)).map((
  { body, header },
) => ({ body, headers: { "stripe-signature": header } }));

let next = 0;
let fallbacks = 0;
const fallbackKinds = {};
// autocannon reports whole seconds and notices the end on a 1 s tick: time the
// run from here to the last response for a precise rate.
const started = process.hrtime.bigint();
let lastResponse = started;
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
  }));
});
instance.on("response", () => {
  lastResponse = process.hrtime.bigint();
});
autocannon.track(instance, {
  renderProgressBar: false,
  renderResultsTable: false,
  renderLatencyTable: false,
});
