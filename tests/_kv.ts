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
