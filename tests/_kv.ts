/**
 * A real Deno KV with a hook on every atomic operation it makes, for tests
 * that stall, fail or observe commits.
 *
 * @module
 */

/**
 * Returns `kv` as is but for `atomic()`, whose operations `change` may
 * patch (replace `commit`, spy on `set`) before they are used.
 */
export function withAtomicHook(
  kv: Deno.Kv,
  change: (operation: Deno.AtomicOperation) => void,
): Deno.Kv {
  return new Proxy(kv, {
    get(target, property) {
      if (property === "atomic") {
        return () => {
          const operation = target.atomic();
          change(operation);
          return operation;
        };
      }
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
