import { Deadline } from "../../../lib/engine/deadline.ts";
import {
  type CommitEngine,
  createCommitEngine,
  DeadlineExceededError,
} from "../../../lib/store/commit_engine.ts";
import { assert, assertEquals, assertRejects } from "../../_assert.ts";
import {
  delayedGetMany,
  lockedFor,
  refusingCommits,
  withAtomicHook,
  withMethod,
} from "../../_kv.ts";

/** A job that appends `item` to the list at `key` and resolves with the list it wrote. */
function append(engine: CommitEngine, key: Deno.KvKey, item: string, deadlineMs = 1_000) {
  return engine.submit({
    keys: [key],
    mutations: 0,
    bytes: 64,
    deadline: Deadline.after(deadlineMs),
    run(view) {
      const list = [...view.get<string[]>(key) ?? [], item];
      view.set(key, list);
      return { done: list };
    },
  });
}

/** A job's sizes and deadline for the tests that need only its keys and its run: small, 1 s. */
function smallJob() {
  return { mutations: 0, bytes: 64, deadline: Deadline.after(1_000) };
}

/** A KV whose commits fail with `message` the first `failures` times. */
function failingCommits(kv: Deno.Kv, failures: number, message: string) {
  return refusingCommits(kv, () => failures-- > 0, message);
}

/**
 * A KV where another process writes `hot` before every commit of a batch that
 * reads it; a commit of a batch that reads `held.key` first waits for `held.until`.
 */
function contendedOn(
  kv: Deno.Kv,
  hot: Deno.KvKey,
  held?: { readonly key: Deno.KvKey; readonly until: Promise<void> },
) {
  const reads = (checks: readonly Deno.AtomicCheck[], key: Deno.KvKey) =>
    checks.some((check) => JSON.stringify(check.key) === JSON.stringify(key));
  return beforeCommit(kv, async (checked) => {
    if (held && reads(checked, held.key)) await held.until;
    if (reads(checked, hot)) await kv.set(hot, ["other process"]);
  });
}

/** `kv` whose commits first run `before` with the keys they check. */
function beforeCommit(
  kv: Deno.Kv,
  before: (checked: readonly Deno.AtomicCheck[]) => Promise<void>,
): Deno.Kv {
  return withAtomicHook(kv, (operation) => {
    const checked: Deno.AtomicCheck[] = [];
    const check = operation.check.bind(operation);
    operation.check = (...checks) => {
      checked.push(...checks);
      return check(...checks);
    };
    const commit = operation.commit.bind(operation);
    operation.commit = async () => {
      await before(checked);
      return await commit();
    };
  });
}

/** A KV whose first commit waits until `release()`. */
function firstCommitHeld(kv: Deno.Kv) {
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  let commits = 0;
  const gated = withAtomicHook(kv, (operation) => {
    const commit = operation.commit.bind(operation);
    operation.commit = () => commits++ === 0 ? released.then(commit) : commit();
  });
  return { gated, release };
}

Deno.test("createCommitEngine() runs jobs on one key in submission order, each seeing the last", async () => {
  using kv = await Deno.openKv(":memory:");
  const engine = createCommitEngine(kv);
  const results = await Promise.all(
    ["a", "b", "c", "d"].map((item) => append(engine, ["list"], item)),
  );
  assertEquals(results.map((list) => list.join("")), ["a", "ab", "abc", "abcd"]);
  assertEquals((await kv.get(["list"])).value, ["a", "b", "c", "d"]);
});

Deno.test("createCommitEngine() re-reads and re-runs a batch when another writer changed a key", async () => {
  using kv = await Deno.openKv(":memory:");
  const engine = createCommitEngine(kv);
  await append(engine, ["list"], "a"); // now cached by the engine
  await kv.set(["list"], ["a", "other process"]);
  assertEquals(await append(engine, ["list"], "b"), ["a", "other process", "b"]);
});

Deno.test("createCommitEngine() retries lock errors with backoff inside the deadline", async (t) => {
  await t.step("a few lock errors: committed", async () => {
    using kv = await Deno.openKv(":memory:");
    const failing = failingCommits(kv, 3, "database is locked");
    const retries: number[] = [];
    const engine = createCommitEngine(failing.kv, {
      onRetry: (_, attempt) => retries.push(attempt),
    });
    assertEquals(await append(engine, ["list"], "a"), ["a"]);
    assertEquals(retries, [1, 2, 3]);
    assertEquals((await kv.get(["list"])).value, ["a"]);
  });
  await t.step("the same commit is retried: the job is not read and run again", async () => {
    using kv = await Deno.openKv(":memory:");
    const failing = failingCommits(kv, 3, "database is locked");
    const engine = createCommitEngine(failing.kv);
    let runs = 0;
    const result = await engine.submit({
      keys: [["total"]],
      mutations: 0,
      bytes: 16,
      deadline: Deadline.after(1_000),
      run(view) {
        runs++;
        view.set(["total"], (view.get<number>(["total"]) ?? 0) + 1);
        return { done: "ok" };
      },
    });
    assertEquals([result, runs, failing.tried], ["ok", 1, 4]);
  });
  await t.step("locked, then changed by another process: read and run again", async () => {
    using kv = await Deno.openKv(":memory:");
    let commits = 0;
    // While "locked", the other process's write lands: the retried commit's check must fail.
    const proxy = withAtomicHook(kv, (operation) => {
      const commit = operation.commit.bind(operation);
      operation.commit = async () => {
        if (++commits > 1) return commit();
        await kv.set(["list"], ["other process"]);
        throw new Error("database is locked");
      };
    });
    const engine = createCommitEngine(proxy);
    assertEquals(await append(engine, ["list"], "a"), ["other process", "a"]);
  });
  await t.step("locked past the deadline: rejected, nothing written", async () => {
    using kv = await Deno.openKv(":memory:");
    const failing = failingCommits(kv, Infinity, "database is locked");
    const engine = createCommitEngine(failing.kv);
    await assertRejects(
      () => append(engine, ["list"], "a", 100),
      DeadlineExceededError,
      "last error: database is locked",
    );
    assertEquals((await kv.get(["list"])).value, null);
  });
});

Deno.test("createCommitEngine() drops a job whose deadline passed before it committed", async (t) => {
  await t.step("already past", async () => {
    using kv = await Deno.openKv(":memory:");
    const engine = createCommitEngine(kv);
    await assertRejects(() => append(engine, ["list"], "late", 0), DeadlineExceededError);
    assertEquals((await kv.get(["list"])).value, null);
  });
  await t.step("reads that never answer", async () => {
    using kv = await Deno.openKv(":memory:");
    const stalled = withMethod(kv, "getMany", () => new Promise(() => {}));
    const engine = createCommitEngine(stalled);
    const started = performance.now();
    await assertRejects(() => append(engine, ["list"], "a", 100), DeadlineExceededError);
    assert(performance.now() - started < 1_000);
  });
});

Deno.test("createCommitEngine() fails only the job whose write KV refuses, never its batch-mates", async () => {
  using kv = await Deno.openKv(":memory:");
  const engine = createCommitEngine(kv);
  const tooLarge = "x".repeat(70 * 1024); // over Deno KV's 64 KiB value limit
  const jobs = Array.from({ length: 8 }, (_, i) =>
    engine.submit({
      keys: [["item", i]],
      mutations: 1,
      bytes: 1_024,
      deadline: Deadline.after(2_000),
      run(view) {
        view.set(["item", i], i);
        return {
          done: i,
          write: (operation: Deno.AtomicOperation) =>
            operation.set(["payload", i], i === 3 ? tooLarge : "small"),
        };
      },
    }));
  const settled = await Promise.allSettled(jobs);
  assertEquals(settled.map((s) => s.status), [
    "fulfilled",
    "fulfilled",
    "fulfilled",
    "rejected",
    "fulfilled",
    "fulfilled",
    "fulfilled",
    "fulfilled",
  ]);
  assertEquals((await kv.get(["item", 7])).value, 7);
  assertEquals((await kv.get(["item", 3])).value, null);
});

Deno.test("createCommitEngine() rejects a batch on a full disk at once, in one commit, not job by job", async () => {
  using memory = await Deno.openKv(":memory:");
  const failing = failingCommits(memory, 1, "database or disk is full");
  const engine = createCommitEngine(failing.kv);
  const jobs = Array.from({ length: 8 }, (_, i) => append(engine, ["full", i], "a"));
  const settled = await Promise.allSettled(jobs);
  assert(settled.every((s) => s.status === "rejected" && /disk is full/.test(s.reason.message)));
  // Not split by halves to find a job to blame: none is, and each half would fail alike.
  assertEquals(failing.tried, 1);
});

Deno.test("createCommitEngine() runs a job again on what KV holds when a key it assumed absent is not, and the commit that would tell cannot land", async () => {
  for (
    const [name, failing] of [["locked", "database is locked"], [
      "full",
      "database or disk is full",
    ]]
  ) {
    using memory = await Deno.openKv(":memory:");
    // Written by another process (or an earlier delivery): this engine never read it.
    await memory.set(["state", name], "answered");
    const { kv } = failingCommits(memory, Infinity, failing);
    const engine = createCommitEngine(kv);
    const seen: (string | null)[] = [];
    const job = engine.submit({
      keys: [["state", name]],
      likelyAbsent: ["state", name],
      mutations: 0,
      bytes: 64,
      deadline: Deadline.after(300),
      run(view) {
        seen.push(view.get<string>(["state", name]) ?? null);
        view.set(["state", name], "decided anew");
        return { done: "decided" };
      },
    });
    await assertRejects(() => job, Error);
    // Its request is answered without the store from what the job saw last: what KV holds.
    assertEquals(seen.at(-1), "answered", name);
  }
});

Deno.test("createCommitEngine() does not write a job whose deadline passed while it read a key it assumed absent", async () => {
  using memory = await Deno.openKv(":memory:");
  const slowReads = delayedGetMany(memory, () => 300);
  // Locked past the spins, so the assumed key is read; free once that read is done.
  const { kv } = failingCommits(slowReads, 8, "database is locked");
  const engine = createCommitEngine(kv);
  const job = (key: string, ms: number) =>
    engine.submit({
      keys: [[key]],
      likelyAbsent: [key],
      ...smallJob(),
      deadline: Deadline.after(ms),
      run(view) {
        view.set([key], "written");
        return { done: key };
      },
    });
  const [soon, late] = await Promise.allSettled([job("soon", 150), job("late", 5_000)]);
  assertEquals([soon.status, late.status], ["rejected", "fulfilled"]);
  assertEquals((await memory.get(["soon"])).value, null, "not written past its deadline");
  assertEquals((await memory.get(["late"])).value, "written");
});

Deno.test("createCommitEngine() keeps batches within KV's 100 checks", async () => {
  using kv = await Deno.openKv(":memory:");
  const failing = failingCommits(kv, 0, "");
  const engine = createCommitEngine(failing.kv);
  await Promise.all(Array.from({ length: 250 }, (_, i) => append(engine, ["card", i], "a")));
  assert(failing.tried >= 3, `${failing.tried} commits for 250 keys`);
  assertEquals((await kv.get(["card", 249])).value, ["a"]);
});

Deno.test("createCommitEngine() refuses at once a job reading more keys than one commit can check", async () => {
  using kv = await Deno.openKv(":memory:");
  const failing = failingCommits(kv, 0, "");
  const engine = createCommitEngine(failing.kv);
  const keys = Array.from({ length: 101 }, (_, i): Deno.KvKey => ["usage", i]);
  const started = performance.now();
  await assertRejects(
    () =>
      engine.submit({
        keys,
        mutations: 0,
        bytes: 64,
        deadline: Deadline.after(10_000),
        run: () => ({ done: true }),
      }),
    RangeError,
    "reads 101 keys",
  );
  assert(performance.now() - started < 1_000, "without retrying until its deadline");
  assertEquals(failing.tried, 0);
});

Deno.test("createCommitEngine() waits for a deferred job outside the batch: its batch-mates commit first", async () => {
  using kv = await Deno.openKv(":memory:");
  const engine = createCommitEngine(kv);
  const order: string[] = [];
  let slow: Promise<void> | undefined;
  let ready = false;
  const deferred = engine.submit({
    ...smallJob(),
    keys: [["slow"]],
    run(view) {
      if (!ready) {
        slow ??= new Promise<void>((resolve) => setTimeout(resolve, 50)).then(() => {
          ready = true;
        });
        return { defer: slow };
      }
      view.set(["slow"], true);
      order.push("slow");
      return { done: "slow" };
    },
  });
  const fast = append(engine, ["fast"], "a").then(() => order.push("fast"));
  await Promise.all([deferred, fast]);
  assertEquals(order, ["fast", "slow"]);
  assertEquals((await kv.get(["slow"])).value, true);
});

Deno.test("createCommitEngine() commits a job at once beside a batch in flight on other keys, keeping each key's order", async () => {
  using kv = await Deno.openKv(":memory:");
  // The first commit (job "a" on ["x"]) is held until released.
  const { gated, release } = firstCommitHeld(kv);
  const engine = createCommitEngine(gated);
  const first = append(engine, ["x"], "a");
  await new Promise((resolve) => setTimeout(resolve, 10));
  // Queued together, "c" on the key in flight first: "b" must not wait behind it.
  const later = append(engine, ["x"], "c");
  const other = append(engine, ["y"], "b");
  const winner = await Promise.race([
    other.then(() => "other key committed"),
    new Promise((resolve) => setTimeout(() => resolve("waited for the batch in flight"), 500)),
  ]);
  assertEquals(winner, "other key committed");
  release();
  assertEquals(await first, ["a"]);
  assertEquals(await later, ["a", "c"]);
  assertEquals((await kv.get(["x"])).value, ["a", "c"]);
});

Deno.test("createCommitEngine() outlasts another process writing its key for a while, within the deadline", async () => {
  using kv = await Deno.openKv(":memory:");
  const started = performance.now();
  // Another process writes the key before each of our commits for the first 150 ms.
  const contended = withAtomicHook(kv, (operation) => {
    const commit = operation.commit.bind(operation);
    operation.commit = async () => {
      if (performance.now() - started < 150) await kv.set(["list"], ["other process"]);
      return await commit();
    };
  });
  const engine = createCommitEngine(contended);
  assertEquals(await append(engine, ["list"], "a", 1_500), ["other process", "a"]);
});

Deno.test("createCommitEngine() stops waiting for the lock at a job's deadline: that job is not written, its batch-mates are", async () => {
  using kv = await Deno.openKv(":memory:");
  const locked = lockedFor(kv, 300);
  const engine = createCommitEngine(locked);
  const [soon, later] = await Promise.allSettled([
    append(engine, ["soon"], "a", 100),
    append(engine, ["later"], "b", 5_000),
  ]);
  assert(soon.status === "rejected" && soon.reason instanceof DeadlineExceededError);
  assertEquals(later, { status: "fulfilled", value: ["b"] });
  assertEquals((await kv.get(["soon"])).value, null);
});

Deno.test("createCommitEngine() takes a job submitted while the only queued one waits on a batch in flight", async () => {
  for (let ticks = 0; ticks < 6; ticks++) {
    using kv = await Deno.openKv(":memory:");
    const { gated, release } = firstCommitHeld(kv);
    const engine = createCommitEngine(gated);
    const first = append(engine, ["hot"], "a");
    await new Promise((resolve) => setTimeout(resolve, 10));
    const hot = append(engine, ["hot"], "b"); // waits on the batch in flight
    for (let i = 0; i < ticks; i++) await Promise.resolve();
    const other = append(engine, ["cold"], "c"); // from a microtask: must not wait on it
    const winner = await Promise.race([
      other.then(() => "committed"),
      new Promise((resolve) => setTimeout(() => resolve("waited for the batch in flight"), 300)),
    ]);
    assertEquals(winner, "committed", `submitted ${ticks} microtasks later`);
    release();
    await Promise.all([first, hot, other]);
  }
});

Deno.test("createCommitEngine() leaves a batch's later half to the next batch when a key keeps conflicting: only the job on it misses its deadline, and says why", async () => {
  using kv = await Deno.openKv(":memory:");
  const engine = createCommitEngine(contendedOn(kv, ["list", 0]));
  const results = await Promise.allSettled(
    Array.from({ length: 8 }, (_, i) => append(engine, ["list", i], `job ${i}`, 400)),
  );
  assert(results[0].status === "rejected" && results[0].reason instanceof DeadlineExceededError);
  assertEquals(
    results[0].reason.message,
    "not committed before the deadline (last error: conflict: a key the batch read was written meanwhile)",
  );
  assertEquals(
    results.slice(1).map((result) => result.status === "fulfilled" && result.value),
    Array.from({ length: 7 }, (_, i) => [`job ${i + 1}`]),
  );
});

/**
 * An engine on `kv` whose commits land 10 ms late (time for another batch to
 * start beside one), and what it retried.
 */
function slowCommitEngine(kv: Deno.Kv) {
  const retries: string[] = [];
  const slow = withAtomicHook(kv, (operation) => {
    const commit = operation.commit.bind(operation);
    operation.commit = () => new Promise((resolve) => setTimeout(resolve, 10)).then(commit);
  });
  const engine = createCommitEngine(slow, { onRetry: (error) => retries.push(String(error)) });
  return { engine, retries };
}

Deno.test("createCommitEngine() runs a batch again after a job defers on what a batch in flight writes meanwhile, with no conflict", async () => {
  using kv = await Deno.openKv(":memory:");
  const { engine, retries } = slowCommitEngine(kv);
  await append(engine, ["list"], "first"); // cached
  let later: Promise<string[]> | undefined;
  const deferring = engine.submit({
    ...smallJob(),
    keys: [["other"]],
    run() {
      if (later) return { done: "done" };
      // Taken by the next batch, which writes ["list"] while this one is run again.
      later = append(engine, ["list"], "later");
      return { defer: new Promise((resolve) => setTimeout(resolve, 30)) };
    },
  });
  const mate = append(engine, ["list"], "batch-mate");
  await Promise.all([deferring, mate, later]);
  assertEquals((await kv.get(["list"])).value, ["first", "later", "batch-mate"]);
  assertEquals(retries, []);
});

Deno.test("createCommitEngine() commits the halves of a batch KV refused beside a batch in flight on their keys, with no conflict", async () => {
  using kv = await Deno.openKv(":memory:");
  const { engine, retries } = slowCommitEngine(kv);
  await append(engine, ["list"], "first"); // cached
  let runs = 0;
  let later: Promise<string[]> | undefined;
  const tooLarge = engine.submit({
    ...smallJob(),
    keys: [["large"]],
    run(view) {
      // Run again alone, as the first half: a job submitted now is taken while it commits.
      if (++runs === 2) later = append(engine, ["list"], "later");
      view.set(["large"], "x".repeat(70_000));
      return { done: "large" };
    },
  });
  const mate = append(engine, ["list"], "batch-mate");
  await assertRejects(() => tooLarge, TypeError);
  await Promise.all([mate, later]);
  assertEquals((await kv.get(["list"])).value, ["first", "later", "batch-mate"]);
  assertEquals(retries, []);
});

Deno.test("createCommitEngine() runs a batch again, with no conflict, when a batch it read a value from failed", async () => {
  using kv = await Deno.openKv(":memory:");
  const { engine, retries } = slowCommitEngine(kv);
  await append(engine, ["list"], "first"); // cached
  let refused: Promise<unknown> | undefined; // what the refused job settled with
  const deferring = engine.submit({
    ...smallJob(),
    keys: [["other"]],
    run() {
      if (refused) return { done: "done" };
      // Taken by the next batch, whose write of ["list"] KV refuses while this one is run again.
      refused = engine.submit({
        ...smallJob(),
        keys: [["list"]],
        run(view) {
          view.set(["list"], "x".repeat(70_000));
          return { done: "too large" };
        },
      }).catch((error) => error);
      return { defer: new Promise((resolve) => setTimeout(resolve, 30)) };
    },
  });
  const mate = append(engine, ["list"], "batch-mate");
  await Promise.all([deferring, mate]);
  assert(await refused instanceof TypeError);
  assertEquals((await kv.get(["list"])).value, ["first", "batch-mate"]);
  assertEquals(retries, []);
});

Deno.test("createCommitEngine() says why a job left to the next batch by a conflicting one expired while queued", async () => {
  using kv = await Deno.openKv(":memory:");
  // The first batch (the job on ["held"]) takes the second batch slot until released.
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  const engine = createCommitEngine(
    contendedOn(kv, ["list", "hot"], { key: ["held"], until: released }),
  );
  const held = append(engine, ["held"], "held", 5_000);
  await new Promise((resolve) => setTimeout(resolve, 10));
  // With both slots taken, the half the conflicting batch leaves queued waits past its deadline.
  const results = await Promise.allSettled(
    ["hot", 1, 2, 3].map((id) => append(engine, ["list", id], `job ${id}`, 300)),
  );
  release();
  await held;
  for (const result of results) {
    assert(result.status === "rejected" && result.reason instanceof DeadlineExceededError);
    assertEquals(
      result.reason.message,
      "not committed before the deadline (last error: conflict: a key the batch read was written meanwhile)",
    );
  }
});

Deno.test("createCommitEngine() names a conflict as the cause only while it is why a job waits", async () => {
  using kv = await Deno.openKv(":memory:");
  const engine = createCommitEngine(contendedOn(kv, ["list", "hot"]));
  const hot = append(engine, ["list", "hot"], "hot", 300);
  // Left to the next batch by the conflicting one, where it defers past its deadline.
  let runs = 0;
  const deferring = engine.submit({
    ...smallJob(),
    deadline: Deadline.after(300),
    keys: [["list", "cold"]],
    run(view) {
      // Run in each of the batch's three conflicting attempts, then in the next batch.
      if (++runs <= 3) {
        view.set(["list", "cold"], ["cold"]);
        return { done: "cold" };
      }
      return { defer: new Promise((resolve) => setTimeout(resolve, 400)) };
    },
  });
  const [, deferred] = await Promise.allSettled([hot, deferring]);
  assert(deferred.status === "rejected" && deferred.reason instanceof DeadlineExceededError);
  assertEquals(deferred.reason.message, "not committed before the deadline");
});

Deno.test("createCommitEngine() knows a key's last committed value through a commit that failed, without reading KV", async () => {
  using kv = await Deno.openKv(":memory:");
  const locked = { on: false };
  const engine = createCommitEngine(refusingCommits(kv, () => locked.on).kv);
  assertEquals(engine.lastKnown(["list"]), undefined);
  await append(engine, ["list"], "a");
  locked.on = true;
  await assertRejects(() => append(engine, ["list"], "b", 100), DeadlineExceededError);
  // The failed commit marked the key stale (read again before a batch relies on it), keeping what
  // it held.
  assertEquals(engine.lastKnown(["list"]), ["a"]);
  locked.on = false;
  await append(engine, ["list"], "c");
  assertEquals(engine.lastKnown(["list"]), ["a", "c"]);
});

Deno.test("createCommitEngine() knows a key's newest value when a batch that read an older one is given up", async () => {
  using kv = await Deno.openKv(":memory:");
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  // The reading job's commit waits until released, while another job on its key commits.
  const engine = createCommitEngine(beforeCommit(kv, async (checked) => {
    if (checked.some(({ key }) => key[0] === "reader")) await released;
  }));
  await append(engine, ["list"], "a");
  const reading = engine.submit<string>({
    keys: [["list"], ["reader"]],
    mutations: 0,
    bytes: 64,
    deadline: Deadline.after(100),
    run(view) {
      view.set(["reader"], view.get<string[]>(["list"]));
      return { done: "read" };
    },
  });
  const failed = reading.then(() => undefined, (error: unknown) => error);
  // Its batch in flight first: the next job, on the key it only reads, commits beside it.
  await new Promise((resolve) => setTimeout(resolve, 10));
  assertEquals(await append(engine, ["list"], "b"), ["a", "b"]);
  // Past its deadline the reading job's commit is given up (its outcome unknown): what it read is
  // older than what the other job committed meanwhile.
  assert(await failed instanceof Error);
  release();
  assertEquals(engine.lastKnown(["list"]), ["a", "b"]);
});

Deno.test("createCommitEngine() keeps at most 20,000 keys, forgetting the one used longest ago", async () => {
  using kv = await Deno.openKv(":memory:");
  const engine = createCommitEngine(kv);
  await append(engine, ["first"], "a");
  await append(engine, ["second"], "a");
  await append(engine, ["first"], "b");
  // 19,999 more keys: with "first" used again last, "second" is the one to go.
  // Submitted at once, so given long enough for the 200 or so commits they take on a busy machine.
  await Promise.all(
    Array.from({ length: 19_999 }, (_, i) => append(engine, ["other", i], "a", 60_000)),
  );
  assertEquals(engine.lastKnown(["second"]), undefined);
  assertEquals(engine.lastKnown(["first"]), ["a", "b"]);
  assertEquals(engine.lastKnown(["other", 0]), ["a"]);
});
