/**
 * Opening one new KV file from several workers at once, as `deno serve
 * --parallel` does at start-up.
 */
import { assert, assertEquals, assertRejects } from "../../_assert.ts";
import { openKv } from "../../../lib/store/kv_path.ts";

const OPENER = URL.createObjectURL(
  new Blob(
    [`import { openKv } from ${
      JSON.stringify(import.meta.resolve("../../../lib/store/kv_path.ts"))
    };
self.onmessage = async ({ data: path }) => {
  try {
    const kv = await openKv(path);
    await kv.set(["opened", crypto.randomUUID()], true);
    kv.close();
    self.postMessage("opened");
  } catch (error) {
    self.postMessage(error.message);
  }
};`],
    { type: "application/javascript" },
  ),
);

Deno.test("two workers opening one new KV file at the same moment both open it", async () => {
  // Without a retry about 1 start in 20 failed with "database is locked": 200 starts fail it
  // all but certainly (0.95 ** 200 < 1e-4).
  const failures: string[] = [];
  const dir = await Deno.makeTempDir();
  const workers = [0, 1].map(() => new Worker(OPENER, { type: "module" }));
  try {
    for (let start = 0; start < 200; start++) {
      const path = `${dir}/${start}/kv.sqlite3`;
      const answers = await Promise.all(workers.map((worker) =>
        new Promise<string>((resolve) => {
          worker.onmessage = ({ data }) => resolve(data);
          worker.postMessage(path);
        })
      ));
      failures.push(...answers.filter((answer) => answer !== "opened"));
    }
  } finally {
    workers.forEach((worker) => worker.terminate());
    await Deno.remove(dir, { recursive: true });
  }
  assertEquals(failures, []);
});

Deno.test("a KV path naming a folder fails at once, saying so, whatever its path says", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A folder where the file should be; "busy" in its path is not SQLite's busy error.
    const path = `${dir}/busy/kv.sqlite3`;
    await Deno.mkdir(path, { recursive: true });
    const started = performance.now();
    await assertRejects(
      () => openKv(path),
      Error,
      `${path} is a folder: name the store's file, e.g. ${path}/kv.sqlite3`,
    );
    assert(performance.now() - started < 1_000, "without waiting for a lock");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "a KV file's folder made for it is its owner's alone: the log holds card ids and amounts",
  ignore: Deno.build.os === "windows",
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const kv = await openKv(`${dir}/data/kv.sqlite3`);
      kv.close();
      assertEquals((await Deno.stat(`${dir}/data`)).mode! & 0o777, 0o700);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
