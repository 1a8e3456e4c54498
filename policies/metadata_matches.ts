import type { Condition } from "./when.ts";

/** Options of {@linkcode metadataMatches}: key-value pairs that must all be present. */
export interface MetadataMatchesOptions {
  /** On the card (`card.metadata`). */
  readonly card?: Readonly<Record<string, string>>;
  /** On the card's cardholder (`card.cardholder.metadata`). */
  readonly cardholder?: Readonly<Record<string, string>>;
}

/**
 * A {@linkcode Condition} for `when()`: true when the card's and the
 * cardholder's metadata have every given key with exactly the given value
 * (Stripe metadata values are strings).
 *
 * @example
 * ```ts
 * import { metadataMatches } from "./metadata_matches.ts";
 * import { authorizationEvent, authorizationOf } from "../fixtures/events.ts";
 * import { equal } from "node:assert/strict";
 * const engineering = metadataMatches({ card: { team: "engineering" }, cardholder: { employee_id: "E-1042" } });
 * const now = new Date();
 * equal(engineering(authorizationOf(authorizationEvent()), now), true);
 * equal(engineering(authorizationOf(authorizationEvent("online", { card: { metadata: { team: "sales" } } })), now), false);
 * ```
 */
export function metadataMatches(options: MetadataMatchesOptions): Condition {
  const card = entriesOf(options?.card, "card");
  const cardholder = entriesOf(options?.cardholder, "cardholder");
  if (card.length + cardholder.length === 0) {
    throw new RangeError(
      `Cannot create metadataMatches: expected at least one key, e.g. { card: { tier: "gold" } }`,
    );
  }
  return Object.assign(
    function metadataMatches({ card: issued }: Parameters<Condition>[0]) {
      const cardMetadata = issued.metadata ?? {};
      const holderMetadata = issued.cardholder?.metadata ?? {};
      return card.every(([key, value]) => cardMetadata[key] === value) &&
        cardholder.every(([key, value]) => holderMetadata[key] === value);
    },
    { config: options },
  );
}

function entriesOf(
  metadata: Readonly<Record<string, string>> | undefined,
  owner: string,
): [string, string][] {
  if (metadata === undefined) return [];
  if (typeof metadata !== "object" || metadata === null) {
    throw new TypeError(`Cannot create metadataMatches: "${owner}" must be an object of strings`);
  }
  const entries = Object.entries(metadata);
  for (const [key, value] of entries) {
    if (typeof value !== "string") {
      throw new TypeError(
        `Cannot create metadataMatches: ${owner}.${key} must be a string (Stripe metadata values are strings), got ${typeof value}`,
      );
    }
  }
  return entries;
}
