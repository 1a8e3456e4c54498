/**
 * The command-line tools, run as users run them (`deno task …`'s commands)
 * against fixtures, with their output asserted.
 */
import denoJson from "../deno.json" with { type: "json" };
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { startTestServer, TEST_SECRET } from "./_helpers.ts";
import { BASE_ENV, ROOT } from "./_process.ts";
import { SCENARIOS } from "../fixtures/events.ts";

const ADMIN_TOKEN = "cli-admin-token-0123456789abcdef";
/** The pipeline the tests' servers run (not `policies/mod.ts`, which users edit). */
const REFERENCE = "tests/fixtures/pipelines/reference.ts";

/** Runs `deno task <name> <args…>`'s command and returns its exit code and output. */
async function task(
  name: keyof typeof denoJson.tasks,
  args: string[],
  env: Record<string, string> = {},
) {
  const [, ...taskArgs] = denoJson.tasks[name].split(" ");
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [...taskArgs, ...args],
    cwd: ROOT,
    env: { ...BASE_ENV, NO_COLOR: "1", ...env },
    clearEnv: true,
  }).output();
  return {
    code,
    stdout: new TextDecoder().decode(stdout),
    stderr: new TextDecoder().decode(stderr),
  };
}

Deno.test("simulate sends signed scenarios and prints decisions, and with --explain each trace", async () => {
  await using server = await startTestServer({ ADMIN_TOKEN });
  const { code, stdout } = await task(
    "simulate",
    [
      "gambling",
      "fuel_controllable_over_hold",
      "ordinary_grocery",
      "--url",
      `${server.url}/webhook`,
      "--explain",
    ],
    { STRIPE_WEBHOOK_SECRET: TEST_SECRET, ADMIN_TOKEN },
  );
  assertEquals(code, 0, stdout);
  const rows = stdout.split("\n");
  assertMatch(rows[0], /^scenario\s+approved\s+amount\s+reasons\s+latency$/);
  assertMatch(
    rows.find((row) => row.startsWith("gambling"))!,
    /^gambling\s+no\s+mcc_blocked:betting_casino_gambling \(blockCategories\)\s+\d+\.\d ms$/,
  );
  assertMatch(
    rows.find((row) => row.startsWith("fuel_controllable_over_hold"))!,
    /\s+yes\s+10000\s+partial_hold:automated_fuel_dispensers \(partialHold\)/,
  );
  assertMatch(
    rows.find((row) => row.startsWith("ordinary_grocery"))!,
    /^ordinary_grocery\s+yes\s+\d/,
  );
  assertStringIncludes(stdout, "  blockCategories: decline mcc_blocked:betting_casino_gambling");
  assertStringIncludes(
    stdout,
    "  partialHold: limit to 10000 partial_hold:automated_fuel_dispensers",
  );
  assertStringIncludes(stdout, "  spendLimit: abstain");
  assertEquals(server.logs.filter((record) => record.msg === "decision").length, 3);
});

Deno.test("simulate refuses an unknown scenario", async () => {
  const { code, stderr } = await task("simulate", ["no_such_scenario"], {
    STRIPE_WEBHOOK_SECRET: TEST_SECRET,
  });
  assertEquals(code, 2);
  assertStringIncludes(stderr, "Unknown scenario no_such_scenario");
});

Deno.test("export, then replay against a pipeline that blocks groceries, reports exactly that change", async (t) => {
  // Inside data/: the export task may read and write only there.
  const dataDir = new URL("data/", ROOT).pathname;
  await Deno.mkdir(dataDir, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: dataDir });
  const kvPath = `${dir}/kv.sqlite3`;
  try {
    {
      await using server = await startTestServer({ KV_PATH: kvPath });
      for (const event of Object.values(SCENARIOS)) {
        await (await server.postEvent(event)).body?.cancel();
      }
    }
    const exported = await task("export", [], { KV_PATH: kvPath });
    assertEquals(exported.code, 0, exported.stderr);
    const lines = exported.stdout.trim().split("\n");
    assertEquals(lines.length, Object.keys(SCENARIOS).length);
    const stored = lines.map((line) => JSON.parse(line).request.card);
    assert(
      stored.every((card) =>
        card.cardholder.name === undefined && card.cardholder.email === undefined
      ),
    );
    assert(stored.every((card) => card.shipping === null), "no shipping address in the log");
    assert(stored.every((card) => card.cardholder.id.startsWith("ich_")));
    const exportFile = `${dir}/decisions.jsonl`;
    await Deno.writeTextFile(exportFile, exported.stdout);

    await t.step("text report", async () => {
      const { code, stdout } = await task("replay", [
        exportFile,
        "--policies",
        "tests/fixtures/pipelines/block_groceries.ts",
      ]);
      assertEquals(code, 0);
      assertStringIncludes(stdout, `${lines.length} authorizations replayed`);
      assertStringIncludes(stdout, "1 changed decisions");
      assertMatch(
        stdout,
        /iauth_grocery\s+approved\s+declined \(mcc_blocked:grocery_stores_supermarkets\)/,
      );
    });

    await t.step("--json report", async () => {
      const { code, stdout } = await task("replay", [
        exportFile,
        "--policies",
        "tests/fixtures/pipelines/block_groceries.ts",
        "--json",
      ]);
      assertEquals(code, 0);
      const report = JSON.parse(stdout);
      assertEquals(
        report.changed.map((change: { authorization_id: string }) => change.authorization_id),
        [
          "iauth_grocery",
        ],
      );
      assertEquals(report.after.declined - report.before.declined, 1);
      assertEquals(report.after.approved - report.before.approved, -1);
      assertEquals(report.reasons.after["mcc_blocked:grocery_stores_supermarkets"], 1);
      assertEquals(report.reasons.before["mcc_blocked:grocery_stores_supermarkets"], undefined);
    });

    await t.step("Stripe event lines replay too, velocity in event-time order", async () => {
      const events = Array.from({ length: 8 }, (_, i) => {
        const event = structuredClone(SCENARIOS.over_cap_controllable);
        const authorization = event.data.object as {
          id: string;
          pending_request: { amount: number };
        };
        authorization.id = `iauth_velocity_${i}`;
        authorization.pending_request.amount = 90_000;
        event.created = 1_764_000_000 + i;
        return JSON.stringify(event);
      });
      const file = `${dir}/events.jsonl`;
      await Deno.writeTextFile(file, events.reverse().join("\n"));
      const { code, stdout } = await task("replay", [file, "--json", "--policies", REFERENCE]);
      assertEquals(code, 0);
      const report = JSON.parse(stdout);
      // 5,000.00 a day: five 900.00 holds, then 500.00 left for the sixth, then nothing.
      assertEquals(report.after, { approved: 5, declined: 2, limited: 1 });
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("policy:check passes the default and reference pipelines and warns about a questionable one", async () => {
  const shipped = await task("policy:check", []);
  assertEquals(shipped.code, 0, shipped.stderr);
  const healthy = await task("policy:check", ["--policies", REFERENCE]);
  assertEquals(healthy.code, 0, healthy.stderr);
  assertMatch(healthy.stdout, /^policy\s+abstain\s+decline\s+limit\s+warnings$/m);
  assert(healthy.stdout.includes("spendLimit"));
  assertEquals(healthy.stderr.includes("warning"), false);

  const questionable = await task("policy:check", [
    "--policies",
    "tests/fixtures/pipelines/questionable.ts",
  ]);
  assertEquals(questionable.code, 1);
  assertStringIncludes(questionable.stderr, "warning: blockCountries never fires");
  assertStringIncludes(
    questionable.stderr,
    "warning: allowCountries never approves, declines everything",
  );
});

Deno.test("replay draws a progress bar for a long file on a terminal, and stays quiet in a pipe", async () => {
  const dataDir = new URL("data/", ROOT).pathname;
  await Deno.mkdir(dataDir, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: dataDir });
  try {
    const file = `${dir}/events.jsonl`;
    const lines = Array.from({ length: 2_500 }, (_, i) => {
      const event = structuredClone(SCENARIOS.ordinary_grocery);
      (event.data.object as { id: string }).id = `iauth_progress_${i}`;
      event.created = 1_764_000_000 + i;
      return JSON.stringify(event);
    });
    await Deno.writeTextFile(file, lines.join("\n"));

    const piped = await task("replay", [file, "--json"]);
    assertEquals(piped.code, 0);
    assertEquals(piped.stderr, "", "nothing but the report when not a terminal");

    // `script` gives the command a pseudo-terminal, as a person's shell would.
    const [, ...replayArgs] = denoJson.tasks.replay.split(" ");
    const command = [Deno.execPath(), ...replayArgs, file, "--json"].join(" ");
    const onTerminal = await new Deno.Command("script", {
      args: ["-qec", command, "/dev/null"],
      cwd: ROOT,
      env: { ...BASE_ENV, NO_COLOR: "1" },
      clearEnv: true,
    }).output();
    assertEquals(onTerminal.code, 0);
    const output = new TextDecoder().decode(onTerminal.stdout);
    assertStringIncludes(output, "[##############################] 2500/2500");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
