/**
 * Editing `policies/mod.ts` is what users do first: it must change at most
 * the default pipeline's snapshots, which `deno task test:update` refreshes.
 * Every other test builds the pipeline it needs
 * (`tests/fixtures/pipelines/reference.ts` by default).
 */
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { ROOT, runDeno, startTaskArgs } from "./_process.ts";

/** The only tests that may read `defaultPipeline`: they derive their expectations from it. */
const FOLLOW_THE_DEFAULT_PIPELINE = [
  "tests/adding_a_policy_test.ts",
  "tests/default_pipeline_http_test.ts",
  "tests/policy_snapshots_test.ts",
];
const SNAPSHOT = "tests/__snapshots__/policy_snapshots_test.ts.snap";

function run(cwd: string, args: string[]) {
  return runDeno(args, { cwd });
}

/** The repository's files (tracked and new, not ignored), relative to the root. */
async function repositoryFiles(): Promise<string[]> {
  const { code, stdout } = await new Deno.Command("git", {
    args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    cwd: ROOT,
  }).output();
  assertEquals(code, 0);
  const files = new TextDecoder().decode(stdout).split("\0").filter(Boolean);
  const present = await Promise.all(
    files.map((file) => Deno.stat(new URL(file, ROOT)).then(() => true, () => false)),
  );
  return files.filter((_, i) => present[i]);
}

Deno.test("no test but the default pipeline's own reads policies/mod.ts's pipeline", async () => {
  const readers = [];
  for (const file of await repositoryFiles()) {
    if (!file.startsWith("tests/") || !file.endsWith(".ts")) continue;
    const text = await Deno.readTextFile(new URL(file, ROOT));
    if (/\bdefaultPipeline\b/.test(text) && file !== "tests/fixtures/pipelines/reference.ts") {
      readers.push(file);
    }
  }
  assertEquals(
    readers.sort(),
    FOLLOW_THE_DEFAULT_PIPELINE,
    "only these tests read defaultPipeline, so editing policies/mod.ts breaks no other test: put snapshots of it in tests/policy_snapshots_test.ts, and test a policy on its own",
  );
});

/** A scratch copy of the repository's files; returns its path and the files. */
async function copyRepository(): Promise<{ copy: string; files: string[] }> {
  const copy = await Deno.makeTempDir({ prefix: "authorizer_copy_" });
  const files = await repositoryFiles();
  for (const file of files) {
    const target = `${copy}/${file}`;
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
    await Deno.copyFile(new URL(file, ROOT), target);
  }
  return { copy, files };
}

Deno.test("adding a policy to a copy of the pipeline changes only the pipeline snapshot", async () => {
  const { copy, files } = await copyRepository();
  try {
    const mod = `${copy}/policies/mod.ts`;
    const source = await Deno.readTextFile(mod);
    const edited = source.replace(
      "export const defaultPipeline: readonly Policy[] = [\n",
      '$&  blockCategories(["grocery_stores_supermarkets"]),\n',
    );
    assert(edited !== source, "policies/mod.ts still declares defaultPipeline as the README says");
    await Deno.writeTextFile(mod, edited);

    const tests = ["test", "-A", ...FOLLOW_THE_DEFAULT_PIPELINE.slice(1)];
    const before = await run(copy, tests);
    assert(before.code !== 0, "the snapshot notices the new policy");
    assertStringIncludes(before.output, "Snapshot does not match");
    assertStringIncludes(before.output, "ordinary_grocery");
    const failed = [...before.output.matchAll(/^(.+) => \.\/tests\/(\S+):\d+:\d+$/gm)]
      .map(([, name, file]) => `${file}: ${name}`);
    assert(failed.length > 0, before.output);
    assert(
      failed.every((line) => line.startsWith("policy_snapshots_test.ts: defaultPipeline ")),
      failed.join("\n"),
    );

    const updated = await run(copy, ["test", "-A", "-u", ...FOLLOW_THE_DEFAULT_PIPELINE.slice(1)]);
    assertEquals(updated.code, 0, updated.output);
    const changed = [];
    for (const file of files) {
      const [a, b] = await Promise.all([
        Deno.readFile(new URL(file, ROOT)),
        Deno.readFile(`${copy}/${file}`),
      ]);
      if (a.length !== b.length || a.some((byte, i) => byte !== b[i])) changed.push(file);
    }
    assertEquals(changed, ["policies/mod.ts", SNAPSHOT]);
    assertEquals((await run(copy, tests)).code, 0, "green again after test:update");
  } finally {
    await Deno.remove(copy, { recursive: true });
  }
});

Deno.test("a category typo in policies/mod.ts stops the start task with one line, no stack trace", async () => {
  const { copy } = await copyRepository();
  try {
    const mod = `${copy}/policies/mod.ts`;
    const source = await Deno.readTextFile(mod);
    await Deno.writeTextFile(
      mod,
      source.replace(
        'blockCategories(["betting_casino_gambling"])',
        'blockCategories(["gambling" as never])',
      ),
    );
    const { code, output } = await run(copy, [...startTaskArgs()]);
    assertEquals(code, 1);
    const lines = output.trim().split("\n").filter((line) => !line.startsWith("warning: Detected"));
    assertEquals(lines.length, 1, output);
    assertStringIncludes(
      lines[0],
      'Cannot start: Cannot create blockCategories: unknown merchant category or MCC "gambling"',
    );
  } finally {
    await Deno.remove(copy, { recursive: true });
  }
});

Deno.test("the README's 'Writing a policy' recipe works pasted as is: formatted, tested, checked", async () => {
  const { copy } = await copyRepository();
  try {
    const readme = await Deno.readTextFile(new URL("README.md", ROOT));
    const steps = [
      ...readme.matchAll(
        /<!-- recipe (file|insert): (\S+)(?: after: (.+?))? -->\s*(`{3,})ts\n([\s\S]*?)\n\4\n/g,
      ),
    ];
    assertEquals(steps.length, 5, "the recipe's five blocks");
    for (const [, kind, path, anchor, , block] of steps) {
      const code = `${block}\n`;
      const target = `${copy}/${path}`;
      if (kind === "file") {
        await Deno.writeTextFile(target, code);
        continue;
      }
      const source = await Deno.readTextFile(target);
      // Where the recipe was followed already (a user's own repository), it is not pasted twice:
      // pasted again, its export was a duplicate identifier and the user's suite failed.
      if (source.includes(block)) continue;
      const at = source.indexOf(`${anchor}\n`);
      assert(at >= 0, `${path} still has the line the recipe inserts after: ${anchor}`);
      const end = at + anchor.length + 1;
      await Deno.writeTextFile(target, source.slice(0, end) + code + source.slice(end));
    }
    const fmt = await run(copy, ["fmt"]);
    assertEquals(fmt.code, 0, fmt.output);
    const check = await run(copy, [
      "check",
      "policies/",
      "tests/policies/max_amount_abroad_test.ts",
    ]);
    assertEquals(check.code, 0, check.output);
    const tests = await run(copy, [
      "test",
      "-A",
      "--doc",
      "policies/max_amount_abroad.ts",
      "tests/policies/max_amount_abroad_test.ts",
      "tests/policy_snapshots_test.ts",
    ]);
    assertEquals(tests.code, 0, tests.output);
    const policyCheck = await run(copy, ["run", "-A", "tasks/policy_check.ts"]);
    assertEquals(policyCheck.code, 0, policyCheck.output);
    assertStringIncludes(policyCheck.output, "maxAmountAbroad");
  } finally {
    await Deno.remove(copy, { recursive: true });
  }
});
