/**
 * A progress bar on the terminal for long runs, and silence anywhere else.
 *
 * @module
 */

/** Runs shorter than this finish before a bar would help. */
export const PROGRESS_THRESHOLD = 2_000;
const WIDTH = 30;

/**
 * A progress callback that draws `[#####.....] done/total` on stderr, when
 * stderr is a terminal and `total` exceeds {@linkcode PROGRESS_THRESHOLD};
 * otherwise `undefined`, so pipes and logs stay clean.
 *
 * @example
 * ```ts
 * import { progressBar } from "./_progress.ts";
 * import { equal } from "node:assert/strict";
 * // Short runs, and any run whose stderr is not a terminal (as here), draw nothing.
 * equal(progressBar(100), undefined);
 * // On a terminal, progressBar(10_000)?.(2_500, 10_000) draws "[#######.......................] 2500/10000".
 * ```
 */
export function progressBar(total: number): ((done: number, total: number) => void) | undefined {
  if (total <= PROGRESS_THRESHOLD || !Deno.stderr.isTerminal()) return undefined;
  const encoder = new TextEncoder();
  let shown = -1;
  return (done) => {
    const filled = Math.floor((done / total) * WIDTH);
    const percent = Math.floor((done / total) * 100);
    if (percent === shown && done !== total) return;
    shown = percent;
    const bar = `\r[${"#".repeat(filled)}${".".repeat(WIDTH - filled)}] ${done}/${total}${
      done === total ? "\n" : ""
    }`;
    Deno.stderr.writeSync(encoder.encode(bar));
  };
}
