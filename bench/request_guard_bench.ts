/**
 * What guarding a request costs on every authorization, beside parsing it
 * (baseline): the webhook's own checks of the event (its id, its nesting),
 * and freezing it before the policies run. Beside each, its walk done the
 * other way (`Object.values` or `for…in`): the cheaper one differs on
 * objects just frozen. And why lists are left unfrozen: V8 serializes a
 * frozen array's elements much slower, and every request's record holds the
 * request as JSON.
 */
import { deepFreeze } from "../lib/engine/deep_freeze.ts";
import { checkEvent } from "../lib/http/webhook.ts";

const text = await Deno.readTextFile(
  new URL("../fixtures/issuing_authorization_request.json", import.meta.url),
);

Deno.bench("parse the event (baseline)", { group: "guard", baseline: true }, () => {
  JSON.parse(text);
});

Deno.bench("parse, then checkEvent (id, nesting)", { group: "guard" }, () => {
  checkEvent(JSON.parse(text));
});

Deno.bench("parse, then deepFreeze the authorization", { group: "guard" }, () => {
  deepFreeze(JSON.parse(text).data.object);
});

/** `checkEvent`'s nesting walk with `Object.values`, as `deepFreeze` walks (it uses `for…in`). */
function nestedValues(value: unknown, levels: number): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (levels === 0) return true;
  const values = Array.isArray(value) ? value : Object.values(value);
  return values.some((item) => nestedValues(item, levels - 1));
}

Deno.bench("parse, then the nesting walk with Object.values", { group: "guard" }, () => {
  nestedValues(JSON.parse(text), 32);
});

/** The same freeze walking with `for…in`, as `deepFreeze` did before `Object.values`. */
function freezeForIn(value: unknown): void {
  if (typeof value !== "object" || value === null) return;
  if (!Array.isArray(value)) Object.freeze(value);
  for (const key in value) freezeForIn((value as Record<string, unknown>)[key]);
}

Deno.bench("parse, then freeze it walking with for…in", { group: "guard" }, () => {
  freezeForIn(JSON.parse(text).data.object);
});

/** The authorization with every object frozen, lists too when `lists`. */
function frozen(lists: boolean): unknown {
  const freeze = (value: unknown): void => {
    if (typeof value !== "object" || value === null) return;
    if (lists || !Array.isArray(value)) Object.freeze(value);
    for (const key in value) freeze((value as Record<string, unknown>)[key]);
  };
  const authorization = JSON.parse(text).data.object;
  freeze(authorization);
  return authorization;
}
const plain = JSON.parse(text).data.object;
const objectsFrozen = frozen(false);
const listsFrozen = frozen(true);

Deno.bench("JSON of the authorization, unfrozen (baseline)", {
  group: "frozen JSON",
  baseline: true,
}, () => {
  JSON.stringify(plain);
});

Deno.bench("JSON of it, its objects frozen (as deepFreeze leaves it)", {
  group: "frozen JSON",
}, () => {
  JSON.stringify(objectsFrozen);
});

Deno.bench("JSON of it, its lists frozen too", { group: "frozen JSON" }, () => {
  JSON.stringify(listsFrozen);
});
