/**
 * A real Deno KV with one method replaced, for tests whose reads stall or
 * fail, or whose commits stall, fail or are observed.
 *
 * @module
 */

/** Returns `kv` as is but for `method`, which `replacement` answers instead. */
export function withMethod<Method extends keyof Deno.Kv>(
  kv: Deno.Kv,
  method: Method,
  replacement: Deno.Kv[Method],
): Deno.Kv {
  return new Proxy(kv, {
    get(target, property) {
      if (property === method) return replacement;
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Returns `kv` with each `getMany` answered `delayMs()` later (a KV server far away, a slow disk). */
export function delayedGetMany(kv: Deno.Kv, delayMs: () => number): Deno.Kv {
  const getMany = kv.getMany.bind(kv) as (...args: unknown[]) => Promise<unknown>;
  return withMethod(
    kv,
    "getMany",
    ((...args: unknown[]) =>
      new Promise((resolve) => setTimeout(resolve, delayMs())).then(() =>
        getMany(...args)
      )) as Deno.Kv["getMany"],
  );
}

/**
 * Returns `kv` as is but for `atomic()`, whose operations `change` may
 * patch (replace `commit`, spy on `set`) before they are used.
 */
export function withAtomicHook(
  kv: Deno.Kv,
  change: (operation: Deno.AtomicOperation) => void,
): Deno.Kv {
  return withMethod(kv, "atomic", () => {
    const operation = kv.atomic();
    change(operation);
    return operation;
  });
}

/**
 * Returns `kv` with its commits refused while `refused()` says so, each with
 * Deno KV's error for SQLite's `message`: "database is locked" while another
 * process writes the file, "database or disk is full" on a full disk.
 * `tried` counts the commits made, refused or not.
 *
 * @example
 * ```ts
 * import { refusingCommits } from "./_kv.ts";
 * import { equal, rejects } from "node:assert/strict";
 * using memory = await Deno.openKv(":memory:");
 * const store = { locked: true };
 * const commits = refusingCommits(memory, () => store.locked);
 * await rejects(commits.kv.atomic().set(["a"], 1).commit(), /database is locked/);
 * store.locked = false;
 * equal((await commits.kv.atomic().set(["a"], 1).commit()).ok, true);
 * equal(commits.tried, 2);
 * ```
 */
export function refusingCommits(
  kv: Deno.Kv,
  refused: () => boolean,
  message = "database is locked",
): { readonly kv: Deno.Kv; readonly tried: number } {
  let tried = 0;
  return {
    kv: withAtomicHook(kv, (operation) => {
      const commit = operation.commit.bind(operation);
      operation.commit = () => {
        tried++;
        return refused() ? Promise.reject(new TypeError(message)) : commit();
      };
    }),
    get tried() {
      return tried;
    },
  };
}

/**
 * Returns `kv` with every commit refused for the next `ms`, as SQLite refuses
 * one while another process holds its write lock ("database is locked").
 */
export function lockedFor(kv: Deno.Kv, ms: number): Deno.Kv {
  const until = performance.now() + ms;
  return refusingCommits(kv, () => performance.now() < until).kv;
}

/**
 * A KV whose commits wait while `stallFor` holds them (a commit that misses
 * its deadline). After `release()`, `settled()` resolves once a commit has
 * landed (`ok`) and none has started or ended for `idleMs` since: in the
 * store's tests, once the fallback recorded in the background after a stalled
 * delivery is done, however many commits it took. It throws after `ms`.
 */
export function stallingCommits(kv: Deno.Kv) {
  let stalled: Promise<unknown> | undefined;
  let landed = false;
  let lastActivity = performance.now();
  return {
    kv: withAtomicHook(kv, (operation) => {
      const commit = operation.commit.bind(operation);
      operation.commit = async () => {
        const wasStalled = stalled !== undefined;
        lastActivity = performance.now();
        await stalled;
        const result = await commit();
        lastActivity = performance.now();
        if (result.ok && !wasStalled && stalled === undefined) landed = true;
        return result;
      };
    }),
    stallFor(ms: number) {
      stalled = new Promise((resolve) => setTimeout(resolve, ms));
    },
    release() {
      stalled = undefined;
      landed = false;
    },
    async settled(idleMs = 200, ms = 3_000): Promise<void> {
      const until = performance.now() + ms;
      while (!landed || performance.now() - lastActivity < idleMs) {
        if (performance.now() > until) throw new Error(`commits did not settle within ${ms} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

/**
 * A KV whose next commit after `holdNext()` waits `ms` before it is made (a
 * commit that misses its request's deadline); `landed`, if given, runs once
 * that commit has landed, before its caller hears of it.
 */
export function holdingNextCommit(kv: Deno.Kv, ms: number, landed?: () => Promise<unknown>) {
  let hold = false;
  return {
    kv: withAtomicHook(kv, (operation) => {
      const commit = operation.commit.bind(operation);
      operation.commit = async () => {
        const held = hold;
        hold = false;
        if (held) await new Promise((resolve) => setTimeout(resolve, ms));
        const result = await commit();
        if (held && result.ok) await landed?.();
        return result;
      };
    }),
    holdNext() {
      hold = true;
    },
  };
}
