import { createKvHealth, HEALTH_CACHE_MS } from "../../../lib/store/health.ts";
import type { LogRecord } from "../../../lib/telemetry/log.ts";
import { withMethod } from "../../_kv.ts";
import { assert, assertEquals } from "../../_assert.ts";

async function withKvFile(fn: (path: string, kv: Deno.Kv) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/health.sqlite3`;
  const kv = await Deno.openKv(path);
  try {
    await fn(path, kv);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("createKvHealth() reports a replaced KV file once, as an error, and caches for a second", async () => {
  await withKvFile(async (path, kv) => {
    const logs: LogRecord[] = [];
    let now = 1_000_000;
    const health = createKvHealth({ kv, path, log: (record) => logs.push(record), now: () => now });
    assertEquals(await health(), { ok: true });
    await Deno.writeTextFile(`${path}.new`, "not the store");
    await Deno.rename(`${path}.new`, path);
    assertEquals(await health(), { ok: true }, "cached");
    now += HEALTH_CACHE_MS;
    const replaced = await health();
    assert(!replaced.ok);
    assertEquals(replaced, { ok: false, reason: "KV file was replaced", detail: path });
    now += HEALTH_CACHE_MS;
    assert(!(await health()).ok);
    const errors = logs.filter((record) => record.level === "error");
    assertEquals(errors.map((record) => record.msg), ["store_unhealthy"], "logged once");
  });
});

Deno.test("createKvHealth() logs again when what makes the KV unwritable changes", async () => {
  using memory = await Deno.openKv(":memory:");
  const failing = { message: "database is locked" };
  const set = () => Promise.reject(new TypeError(failing.message));
  const kv = withMethod(memory, "set", set as Deno.Kv["set"]);
  const logs: LogRecord[] = [];
  let now = 1_000_000;
  const health = createKvHealth({ kv, log: (record) => logs.push(record), now: () => now });
  await health();
  now += HEALTH_CACHE_MS;
  await health();
  failing.message = "database or disk is full";
  now += HEALTH_CACHE_MS;
  await health();
  const unhealthy = logs.filter((record) => record.msg === "store_unhealthy");
  assertEquals(unhealthy.map((record) => [record.reason, record.detail]), [
    ["KV not writable", "database is locked"],
    ["KV not writable", "database or disk is full"],
  ]);
});

Deno.test("createKvHealth() reports a KV that cannot be written", async () => {
  await withKvFile(async (path) => {
    const closed = await Deno.openKv(path);
    closed.close();
    const health = createKvHealth({ kv: closed, path, log: () => {} });
    const result = await health();
    assert(!result.ok);
    assertEquals(result.reason, "KV not writable");
    assertEquals(result.detail, "Bad resource ID");
  });
});
