/**
 * `main.ts` as users run it: a child process started by the `start` task's
 * command, by `deno serve`, and as Deno Deploy would.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { signWithStripe, TEST_SECRET } from "./_helpers.ts";
import { authorizationEvent } from "./fixtures/events.ts";
import denoJson from "../deno.json" with { type: "json" };

const ROOT = new URL("../", import.meta.url);
/** Children start from a clean environment, but find Deno's cache where the tests do. */
const BASE_ENV = Object.fromEntries(
  ["HOME", "DENO_DIR", "XDG_CACHE_HOME"].flatMap((name) => {
    const value = Deno.env.get(name);
    return value === undefined ? [] : [[name, value]];
  }),
);

/** The `start` task's `deno run …` arguments, read from deno.json so the test runs what users run. */
function startTaskArgs(): string[] {
  const [deno, ...args] = denoJson.tasks.start.split(" ");
  assertEquals(deno, "deno");
  return args;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

interface Child extends AsyncDisposable {
  readonly url: string;
  /** Stops the child (SIGTERM) and returns everything it printed. */
  stop(): Promise<string>;
}

async function spawn(
  args: string[],
  env: Record<string, string>,
  port: number,
  cwd = ROOT,
): Promise<Child> {
  const process = new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: {
      ...BASE_ENV,
      HOSTNAME: "127.0.0.1",
      PORT: String(port),
      NO_COLOR: "1",
      KV_PATH: ":memory:",
      ...env,
    },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/healthz`);
      await response.body?.cancel();
      if (response.ok) break;
    } catch { /* not listening yet */ }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  let output: Promise<string> | undefined;
  const stop = () => {
    output ??= (async () => {
      try {
        process.kill("SIGTERM");
      } catch { /* already exited */ }
      const { stdout, stderr } = await process.output();
      return new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    })();
    return output;
  };
  return { url, stop, [Symbol.asyncDispose]: async () => void await stop() };
}

async function postSigned(url: string, secret: string): Promise<Response> {
  const payload = JSON.stringify(authorizationEvent());
  return await fetch(`${url}/webhook`, {
    method: "POST",
    headers: { "stripe-signature": await signWithStripe(payload, secret) },
    body: payload,
  });
}

Deno.test("the start task's command serves signed requests on PORT", async () => {
  await using child = await spawn(
    startTaskArgs(),
    { STRIPE_WEBHOOK_SECRET: TEST_SECRET },
    freePort(),
  );
  const response = await postSigned(child.url, TEST_SECRET);
  assertEquals(response.status, 200);
  assertEquals((await response.json()).approved, true);
});

Deno.test("`deno serve main.ts` uses the default export", async () => {
  const port = freePort();
  await using child = await spawn(
    [
      "serve",
      "--allow-net",
      "--allow-env",
      "--allow-read=./policies,./data",
      `--port=${port}`,
      "--host=127.0.0.1",
      "main.ts",
    ],
    { STRIPE_WEBHOOK_SECRET: TEST_SECRET },
    port,
  );
  const response = await postSigned(child.url, TEST_SECRET);
  assertEquals(response.status, 200);
  assertEquals(response.headers.get("content-type"), "application/json");
  await response.body?.cancel();
});

Deno.test("on Deno Deploy, start-up without STRIPE_WEBHOOK_SECRET is refused with one line", async () => {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [...startTaskArgs()],
    cwd: ROOT,
    env: {
      ...BASE_ENV,
      DENO_DEPLOYMENT_ID: "test-deployment",
      PORT: String(freePort()),
      NO_COLOR: "1",
    },
    clearEnv: true,
    stdout: "null",
    stderr: "piped",
  }).output();
  assertEquals(code, 1);
  const text = new TextDecoder().decode(stderr).trim();
  assertMatch(
    text.split("\n").at(-1)!,
    /^Cannot start: STRIPE_WEBHOOK_SECRET is required on Deno Deploy/,
  );
});

Deno.test("a bad setting stops start-up with a one-line reason", async () => {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: startTaskArgs(),
    cwd: ROOT,
    env: { ...BASE_ENV, STRIPE_WEBHOOK_SECRET: TEST_SECRET, PORT: "eighty", NO_COLOR: "1" },
    clearEnv: true,
    stdout: "null",
    stderr: "piped",
  }).output();
  assertEquals(code, 1);
  assertStringIncludes(
    new TextDecoder().decode(stderr),
    'Cannot start: PORT must be an integer from 0 to 65535, got "eighty"',
  );
});

Deno.test("without a secret, a local development secret is created once, used, and never printed", async () => {
  // A scratch copy of the entry point's folder, so the test never touches the repository's data/.
  const dir = await Deno.makeTempDir();
  try {
    for (const entry of ["main.ts", "deno.json", "deno.lock", "lib", "policies"]) {
      await new Deno.Command("cp", { args: ["-r", new URL(entry, ROOT).pathname, dir] }).output();
    }
    const port = freePort();
    let secret: string;
    {
      await using child = await spawn(startTaskArgs(), {}, port, new URL(`file://${dir}/`));
      secret = (await Deno.readTextFile(`${dir}/data/dev_webhook_secret`)).trim();
      assertMatch(secret, /^whsec_[A-Za-z0-9+/=]{40,}$/);
      const mode = (await Deno.stat(`${dir}/data/dev_webhook_secret`)).mode! & 0o777;
      assertEquals(mode, 0o600);
      const response = await postSigned(child.url, secret);
      assertEquals(response.status, 200);
      await response.body?.cancel();
      const text = await child.stop();
      assertStringIncludes(text, "data/dev_webhook_secret");
      assertStringIncludes(text, "stripe listen");
      assert(!text.includes(secret), "the secret itself is never printed");
    }
    {
      await using child = await spawn(startTaskArgs(), {}, port, new URL(`file://${dir}/`));
      assertEquals(
        (await Deno.readTextFile(`${dir}/data/dev_webhook_secret`)).trim(),
        secret,
        "kept across restarts",
      );
      const response = await postSigned(child.url, secret);
      assertEquals(response.status, 200);
      await response.body?.cancel();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
