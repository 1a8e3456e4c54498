/**
 * What the load harness and the in-process handler cost both measure with:
 * per-thread CPU time from /proc, medians, and numeric flags.
 *
 * @module
 */

/** One thread's CPU time. */
export interface ThreadCpu {
  readonly tid: number;
  /** The thread's name: Deno KV's SQLite writers are `sw-…`, the JS thread has the process's tid. */
  readonly name: string;
  readonly ms: number;
}

/**
 * CPU time each thread of process `pid` has used, in ms: utime + stime
 * (fields 14 and 15 of `/proc/<pid>/task/<tid>/stat`, in clock ticks of
 * 10 ms). Deno asks for --allow-all to read /proc itself; through `sh` it
 * needs only --allow-run=sh.
 */
export async function threadCpuMs(pid: number): Promise<ThreadCpu[]> {
  const { stdout } = await new Deno.Command("sh", {
    args: ["-c", `cat /proc/${pid}/task/*/stat`],
  }).output();
  return new TextDecoder().decode(stdout).trim().split("\n").map((line) => {
    const fields = line.slice(line.lastIndexOf(")") + 2).split(" ");
    return {
      tid: Number(line.slice(0, line.indexOf(" "))),
      name: line.slice(line.indexOf("(") + 1, line.lastIndexOf(")")),
      ms: (Number(fields[11]) + Number(fields[12])) * 10,
    };
  });
}

/**
 * The median (the lower middle of an even count), `NaN` of nothing.
 *
 * @example
 * ```ts
 * import { median } from "./_measure.ts";
 * import { equal } from "node:assert/strict";
 * equal(median([3, 1, 2]), 2);
 * ```
 */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor((sorted.length - 1) / 2)];
}

/** `--name N` among `args` as a positive integer, else `fallback`; anything else is refused. */
export function countArg(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const value = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} takes a positive integer`);
  }
  return value;
}

/**
 * `--name value` among `args`, else `undefined`; a `--name` with no value
 * after it is refused.
 *
 * @example
 * ```ts
 * import { textArg } from "./_measure.ts";
 * import { equal } from "node:assert/strict";
 * equal(textArg(["--kv", ":memory:"], "--kv"), ":memory:");
 * equal(textArg([], "--kv"), undefined);
 * ```
 */
export function textArg(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  if (value === undefined) throw new RangeError(`${name} takes a value`);
  return value;
}
