/**
 * The top entries of a V8 CPU profile (`deno task load --cpu-prof <dir>`
 * writes one for (c)): self time by function, and inclusive time (a function
 * and everything it called), as shares of all samples, idle included.
 *
 * Usage: `deno run --allow-read bench/profile_top.ts <file.cpuprofile> [rows]`
 *
 * @module
 */

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const [file, rowsArg] = Deno.args;
if (!file) {
  console.error("usage: deno run --allow-read bench/profile_top.ts <file.cpuprofile> [rows]");
  Deno.exit(2);
}
const rows = Number(rowsArg ?? 15);
const profile: Profile = JSON.parse(await Deno.readTextFile(file));
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parents = new Map<number, number>();
for (const node of profile.nodes) {
  for (const child of node.children ?? []) parents.set(child, node.id);
}

// Each sample's time is the delta to the next one.
const selfTime = new Map<number, number>();
profile.samples.forEach((id, i) => {
  selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
});
const total = [...selfTime.values()].reduce((sum, time) => sum + time, 0);

const nameOf = ({ callFrame: { functionName, url } }: ProfileNode) =>
  `${functionName || "(anonymous)"} ${url.split("/").slice(-2).join("/")}`.trim();
const bySelf = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, time] of selfTime) {
  const name = nameOf(nodes.get(id)!);
  bySelf.set(name, (bySelf.get(name) ?? 0) + time);
  // Each function once per sample, however deep it recurses.
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
    const caller = nameOf(nodes.get(at)!);
    if (seen.has(caller)) continue;
    seen.add(caller);
    inclusive.set(caller, (inclusive.get(caller) ?? 0) + time);
  }
}

const top = (times: Map<string, number>) =>
  [...times].sort((a, b) => b[1] - a[1]).slice(0, rows)
    .map(([name, time]) => `${(100 * time / total).toFixed(1).padStart(5)}%  ${name}`)
    .join("\n");
console.log(
  `${(total / 1e6).toFixed(1)} s sampled\n\nself\n${top(bySelf)}\n\ninclusive\n${top(inclusive)}`,
);
