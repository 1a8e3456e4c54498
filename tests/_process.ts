/**
 * Child processes of the service, started the way users start it, for tests
 * that need a real process boundary (entry points, several processes, crashes).
 *
 * @module
 */
import { assertEquals } from "./_assert.ts";
import denoJson from "../deno.json" with { type: "json" };

export const ROOT = new URL("../", import.meta.url);
/** Children start from a clean environment, but find Deno's cache where the tests do. */
export const BASE_ENV = Object.fromEntries(
  ["HOME", "DENO_DIR", "XDG_CACHE_HOME"].flatMap((name) => {
    const value = Deno.env.get(name);
    return value === undefined ? [] : [[name, value]];
  }),
);

/** The `start` task's `deno run …` arguments, read from deno.json so the test runs what users run. */
export function startTaskArgs(): string[] {
  const [deno, ...args] = denoJson.tasks.start.split(" ");
  assertEquals(deno, "deno");
  return args;
}

/** The `start` task's flags (V8's and permissions), without `run` and the script. */
export function startTaskFlags(): string[] {
  const args = startTaskArgs();
  return args.slice(1, args.indexOf("main.ts"));
}

/**
 * `deno serve --parallel main.ts` on 127.0.0.1:`port` with the `start` task's
 * flags, plus reading and writing `kvDir` when the KV file is there.
 * Workers: `DENO_JOBS` in the child's environment.
 */
export function serveParallelArgs(port: number, kvDir?: string): string[] {
  const flags = startTaskFlags();
  return [
    "serve",
    "--parallel",
    ...(kvDir ? allowingDir(flags, kvDir) : flags),
    `--port=${port}`,
    "--host=127.0.0.1",
    "main.ts",
  ];
}

/** `args` with reading and writing `dir` allowed too (for a KV file there). */
export function allowingDir(args: readonly string[], dir: string): string[] {
  return args.map((arg) => /^--allow-(read|write)=/.test(arg) ? `${arg},${dir}` : arg);
}

/** What a finished `deno` child printed. */
export interface DenoOutput {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout, then stderr. */
  readonly output: string;
}

/** Runs `deno <args…>` in `cwd` (default the repository) with a clean environment plus `env`. */
export async function runDeno(
  args: readonly string[],
  { cwd = ROOT, env = {} }: { cwd?: string | URL; env?: Record<string, string> } = {},
): Promise<DenoOutput> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [...args],
    cwd,
    env: { ...BASE_ENV, NO_COLOR: "1", ...env },
    clearEnv: true,
  }).output();
  const decoder = new TextDecoder();
  const [out, err] = [decoder.decode(stdout), decoder.decode(stderr)];
  return { code, stdout: out, stderr: err, output: out + err };
}

/** Half a request head: what a slow (or slowloris) client sends and then holds. */
export const PARTIAL_HEAD = new TextEncoder().encode("POST /webhook HTTP/1.1\r\nHost: x\r\n");

/** Milliseconds until the server on `port` closes a connection that sent {@linkcode PARTIAL_HEAD}. */
export async function msUntilClosed(port: number): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const started = performance.now();
  await conn.write(PARTIAL_HEAD);
  const buffer = new Uint8Array(1_024);
  try {
    while (await conn.read(buffer) !== null) { /* an error page, if any */ }
  } catch { /* reset: closed too */ }
  conn.close();
  return performance.now() - started;
}

export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

export interface Child extends AsyncDisposable {
  readonly url: string;
  readonly port: number;
  /** Whether the process is still the one started (it has not exited). */
  running(): boolean;
  /** Stops the child (SIGTERM, or as told) and returns everything it printed. */
  stop(signal?: Deno.Signal): Promise<string>;
  /** Sends `signal` and returns at once (a second signal during a stop). */
  signal(signal: Deno.Signal): void;
}

export async function spawnService(
  args: string[],
  env: Record<string, string>,
  port: number,
  { cwd = ROOT, wrapper = [] }: {
    cwd?: URL;
    /** A command the service runs under, e.g. `["prlimit", "--nofile=256"]`. */
    wrapper?: string[];
  } = {},
): Promise<Child> {
  const [command, ...prefix] = [...wrapper, Deno.execPath()];
  const process = new Deno.Command(command, {
    args: [...prefix, ...args],
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
  // Drained from the start: a child blocks once an unread pipe fills up (64 KiB of log lines).
  const collected = process.output();
  let exited = false;
  collected.then(() => exited = true, () => exited = true);
  const url = `http://127.0.0.1:${port}`;
  let ready = false;
  for (const deadline = Date.now() + 20_000; !ready && !exited && Date.now() < deadline;) {
    try {
      const response = await fetch(`${url}/healthz`);
      await response.body?.cancel();
      ready = response.ok;
    } catch { /* not listening yet */ }
    if (!ready) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  let stopped: Promise<string> | undefined;
  const stop = (signal: Deno.Signal = "SIGTERM") => {
    stopped ??= (async () => {
      try {
        process.kill(signal);
      } catch { /* already exited */ }
      const { stdout, stderr } = await collected;
      return new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    })();
    return stopped;
  };
  if (!ready) {
    throw new Error(`the service at ${url} never answered /healthz:\n${await stop("SIGKILL")}`);
  }
  return {
    url,
    port,
    running: () => !exited,
    stop,
    signal: (signal) => process.kill(signal),
    [Symbol.asyncDispose]: async () => void await stop(),
  };
}
