/**
 * The policy set's version: a short content hash of `policies/`.
 *
 * @module
 */

/**
 * Hashes every file under `dir` (paths and contents, in sorted order) with
 * SHA-256 and returns the first 12 hex digits. Computed once at start-up, it
 * tells which rules made a decision without trusting a hand-kept number.
 *
 * @example
 * ```ts
 * import { computePolicyVersion } from "./policy_version.ts";
 * import { equal, match } from "node:assert/strict";
 * const policies = new URL("../../policies/", import.meta.url);
 * const version = await computePolicyVersion(policies);
 * match(version, /^[0-9a-f]{12}$/);
 * equal(await computePolicyVersion(policies), version, "the same files, the same version");
 * ```
 */
export async function computePolicyVersion(dir: URL): Promise<string> {
  const files = await listFiles(dir, "");
  files.sort();
  const encoder = new TextEncoder();
  const parts: Uint8Array<ArrayBuffer>[] = [];
  for (const file of files) {
    parts.push(
      encoder.encode(`${file}\0`),
      await Deno.readFile(new URL(file, dir)),
      encoder.encode("\0"),
    );
  }
  const digest = await crypto.subtle.digest(
    "SHA-256",
    await new Blob(parts).arrayBuffer(),
  );
  return Array.from(
    new Uint8Array(digest).slice(0, 6),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

async function listFiles(root: URL, prefix: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(new URL(prefix, root))) {
    const path = `${prefix}${entry.name}`;
    if (entry.isDirectory) files.push(...await listFiles(root, `${path}/`));
    else if (entry.isFile) files.push(path);
  }
  return files;
}
