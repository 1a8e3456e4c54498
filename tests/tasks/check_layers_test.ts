import { assertEquals } from "../_assert.ts";
import { layerViolations, productGraph } from "../../tasks/check_layers.ts";

Deno.test("the product's imports follow the layer order and form no cycle", async () => {
  const graph = await productGraph(new URL("../../", import.meta.url));
  assertEquals(graph.has("lib/engine/decide.ts"), true);
  assertEquals(layerViolations(graph), []);
});

Deno.test("layerViolations() names both files of an import against the layers", () => {
  const graph = new Map([
    ["lib/engine/policy.ts", ["lib/http/app.ts"]],
    ["lib/ops/decision_stats.ts", ["lib/ops/format.ts"]],
    ["lib/http/app.ts", ["lib/store/decision_store.ts"]],
    ["lib/store/decision_store.ts", ["tests/fixtures/pipelines/questionable.ts"]],
    ["policies/mod.ts", ["lib/service/service.ts"]],
  ]);
  assertEquals(layerViolations(graph), [
    "lib/engine/policy.ts imports lib/http/app.ts: lib/engine may not import lib/http",
    "lib/store/decision_store.ts imports tests/fixtures/pipelines/questionable.ts: the product may not import tests or benchmarks",
    "policies/mod.ts imports lib/service/service.ts: policies may not import lib/service",
  ]);
});

Deno.test("layerViolations() reports a cycle inside one folder once, as a path", () => {
  const graph = new Map([
    ["lib/store/a.ts", ["lib/store/b.ts"]],
    ["lib/store/b.ts", ["lib/store/c.ts"]],
    ["lib/store/c.ts", ["lib/store/a.ts"]],
  ]);
  assertEquals(layerViolations(graph), [
    "import cycle: lib/store/a.ts → lib/store/b.ts → lib/store/c.ts → lib/store/a.ts",
  ]);
});
