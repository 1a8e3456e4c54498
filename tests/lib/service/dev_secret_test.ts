import { loadOrCreateDevSecret } from "../../../lib/service/dev_secret.ts";
import { assertEquals, assertRejects } from "../../_assert.ts";

Deno.test("workers starting at once (deno serve --parallel) share one development secret", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/data/dev_webhook_secret`;
    const loaded = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateDevSecret(path)));
    assertEquals(new Set(loaded.map(({ secret }) => secret)).size, 1);
    assertEquals(loaded.filter(({ created }) => created).length, 1);
    assertEquals((await Deno.readTextFile(path)).trim(), loaded[0].secret);
    assertEquals([...Deno.readDirSync(`${dir}/data`)].length, 1, "no draft left behind");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an empty development secret file is refused, not used as an empty key", async () => {
  const path = await Deno.makeTempFile();
  try {
    await assertRejects(() => loadOrCreateDevSecret(path), Error, "is empty: delete it");
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("on a file system without hard links the development secret is written in place", async () => {
  const dir = await Deno.makeTempDir();
  const link = Deno.link;
  Deno.link = () => Promise.reject(new Deno.errors.NotSupported("hard links"));
  try {
    const path = `${dir}/dev_webhook_secret`;
    const first = await loadOrCreateDevSecret(path);
    assertEquals(first.created, true);
    assertEquals((await Deno.readTextFile(path)).trim(), first.secret);
    assertEquals((await loadOrCreateDevSecret(path)).secret, first.secret);
    assertEquals([...Deno.readDirSync(dir)].length, 1, "no draft left behind");
  } finally {
    Deno.link = link;
    await Deno.remove(dir, { recursive: true });
  }
});
