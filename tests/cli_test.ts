/**
 * The command-line tools, run as users run them (`deno task …`'s commands)
 * against fixtures, with their output asserted.
 */
import denoJson from "../deno.json" with { type: "json" };
import { fileURLToPath } from "node:url";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { postSigned, startTestServer, TEST_SECRET, type TestServer } from "./_helpers.ts";
import { BASE_ENV, freePort, ROOT, runDeno, spawnService, startTaskArgs } from "./_process.ts";
import { ALL_SCENARIOS, SCENARIOS } from "../fixtures/events.ts";
import { requestEvent } from "../fixtures/lifecycle.ts";
import { SEQUENCES } from "../fixtures/sequences.ts";

const ADMIN_TOKEN = "cli-admin-token-0123456789abcdef";
/** The pipeline the tests' servers run (not `policies/mod.ts`, which users edit). */
const REFERENCE = "tests/fixtures/pipelines/reference.ts";

/** Runs `deno task <name> <args…>`'s command and returns its exit code and output. */
function task(
  name: keyof typeof denoJson.tasks,
  args: string[],
  env: Record<string, string> = {},
) {
  const [, ...taskArgs] = denoJson.tasks[name].split(" ");
  return run([...taskArgs, ...args], env);
}

function run(args: string[], env: Record<string, string> = {}) {
  return runDeno(args, { env });
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
  assertMatch(rows[0], /^card ic_sim_[0-9a-z]+$/);
  assertMatch(rows[2], /^scenario\s+approved\s+amount\s+reasons\s+latency$/);
  assertMatch(
    rows.find((row) => row.startsWith("gambling"))!,
    /^gambling\s+no\s+mcc_blocked:betting_casino_gambling \(blockCategories\)\s+\d+\.\d ms$/,
  );
  assertMatch(
    rows.find((row) => row.startsWith("fuel_controllable_over_hold"))!,
    /\s+yes\s+100\.00 USD\s+partial_hold:automated_fuel_dispensers \(partialHold\)/,
  );
  assertMatch(
    rows.find((row) => row.startsWith("ordinary_grocery"))!,
    /^ordinary_grocery\s+yes\s+\d/,
  );
  assertStringIncludes(stdout, "  blockCategories: decline mcc_blocked:betting_casino_gambling");
  assertStringIncludes(
    stdout,
    "  partialHold: limit to 100.00 USD partial_hold:automated_fuel_dispensers",
  );
  assertStringIncludes(stdout, "  spendLimit: abstain");
  assertEquals(server.logs.filter((record) => record.msg === "decision").length, 3);
});

Deno.test("simulate refuses an unknown scenario", async () => {
  const { code, stderr } = await task("simulate", ["no_such_scenario"], {
    STRIPE_WEBHOOK_SECRET: TEST_SECRET,
  });
  assertEquals(code, 2);
  assertMatch(stderr, /^error: unknown scenario no_such_scenario; known: ordinary_grocery, /);
  assertEquals(stderr.trim().split("\n").length, 1);
});

Deno.test("export, then replay against a pipeline that blocks groceries, reports exactly that change", async (t) => {
  // Outside ./data, as a user's KV_PATH may be: the export task says what to run there.
  const dir = await Deno.makeTempDir({ prefix: "authorizer_cli_" });
  const kvPath = `${dir}/kv.sqlite3`;
  try {
    {
      await using server = await startTestServer({ KV_PATH: kvPath });
      const events = Object.values(SCENARIOS).map((event) => structuredClone(event));
      // The fixtures ship no shipping address: one event carries one, which the log must drop.
      (events[0].data.object as { card: { shipping: unknown } }).card.shipping = {
        name: "Jenny Rosen",
        address: { line1: "1 Main St", city: "Springfield", postal_code: "00001", country: "US" },
      };
      for (const event of events) {
        await (await server.postEvent(event)).body?.cancel();
      }
    }
    const refused = await task("export", [], { KV_PATH: kvPath });
    assertEquals(refused.code, 1);
    const command = /run: (deno run .*)$/m.exec(refused.stderr)?.[1];
    assert(command, refused.stderr);
    const exported = await run(command.split(" ").slice(1), { KV_PATH: kvPath });
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
      assertStringIncludes(
        stdout,
        `${lines.length} requests (${lines.length} authorizations) replayed`,
      );
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
        ["iauth_grocery"],
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
  assertMatch(
    questionable.stderr,
    /^warning: blockLargeDollars never fires, e\.g\. on \d+ [a-z]{3}/m,
  );
  assertMatch(questionable.stderr, /^warning: groceriesOnly always fires, e\.g\. on /m);
  assertStringIncludes(questionable.stdout, "never approved by the pipeline");
});

Deno.test("replay draws a progress bar for a long file on a terminal, and stays quiet in a pipe", async () => {
  const dir = await Deno.makeTempDir({ prefix: "authorizer_cli_" });
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

Deno.test("every task answers --help with its usage and exit 0", async () => {
  for (const name of ["simulate", "export", "replay", "policy:check", "reset", "start"] as const) {
    const { code, stdout } = await task(name, ["--help"]);
    assertEquals(code, 0, name);
    assertMatch(stdout, new RegExp(`^usage: deno task ${name}\\b`), name);
  }
});

Deno.test("common mistakes get one line saying what to do, a non-zero exit and no stack trace", async (t) => {
  const oneLine = (stderr: string) => {
    assertEquals(stderr.trim().split("\n").length, 1, stderr);
    assertEquals(/\bat file:|Stack backtrace/.test(stderr), false, stderr);
    return stderr.trim();
  };
  await t.step("simulate while the server is down", async () => {
    const { code, stderr } = await task("simulate", [
      "gambling",
      "--url",
      `http://127.0.0.1:${freePort()}/webhook`,
    ], {
      STRIPE_WEBHOOK_SECRET: TEST_SECRET,
    });
    assertEquals(code, 1);
    assertMatch(
      oneLine(stderr),
      /^error: nothing answers at .*start the server with `deno task start`/,
    );
  });
  await t.step("simulate with a card or URL that is not one", async () => {
    // Before: the server's "event has no issuing authorization", and "nothing answers at notaurl".
    const mistakes: [string[], string][] = [
      [["--card", ""], "error: --card must be a card id such as ic_1AbC"],
      [["--card", "ic 1"], "error: --card must be a card id such as ic_1AbC"],
      [["--url", "notaurl"], "error: --url must be a whole URL such as http://localhost:8000"],
    ];
    for (const [args, reason] of mistakes) {
      const { code, stderr } = await task("simulate", ["gambling", ...args], {
        STRIPE_WEBHOOK_SECRET: TEST_SECRET,
      });
      assertEquals(code, 2, args.join(" ")); // a usage error
      assertStringIncludes(oneLine(stderr), reason);
    }
  });
  await t.step("simulate against a server that answers something else", async () => {
    const ac = new AbortController();
    const other = Deno.serve(
      { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
      () => new Response("<html>Welcome to nginx</html>"),
    );
    try {
      const { code, stdout } = await task("simulate", [
        "gambling",
        "--url",
        `http://127.0.0.1:${other.addr.port}/webhook`,
      ], { STRIPE_WEBHOOK_SECRET: TEST_SECRET });
      assertEquals(code, 1);
      assertMatch(stdout, /gambling\s+HTTP 200\s+not a decision: <html>Welcome to nginx<\/html>/);
    } finally {
      ac.abort();
      await other.finished;
    }
  });
  await t.step("export before the first start", async () => {
    const { code, stderr } = await task("export", [], { KV_PATH: "data/never_started.sqlite3" });
    assertEquals(code, 1);
    assertMatch(
      oneLine(stderr),
      /^error: no decision log at data\/never_started\.sqlite3 yet: start the server/,
    );
  });
  await t.step("replay of a missing file", async () => {
    const { code, stderr } = await task("replay", ["no_such_export.jsonl"]);
    assertEquals(code, 1);
    assertEquals(
      oneLine(stderr),
      "error: no file no_such_export.jsonl: make one with `deno task export > no_such_export.jsonl`",
    );
  });
  await t.step(
    "replay of lines that parse but hold no authorization names their line",
    async () => {
      const file = await Deno.makeTempFile({ suffix: ".jsonl" });
      try {
        const good = JSON.stringify(SCENARIOS.gambling);
        const cases: [line: string, reason: string][] = [
          [
            JSON.stringify({ ...SCENARIOS.gambling, data: { object: { id: "iauth_1" } } }),
            "event has no issuing authorization",
          ],
          // The webhook's 400s for the event itself: replayed before, as if Stripe could send them.
          [
            JSON.stringify({ ...SCENARIOS.gambling, id: `evt_${"x".repeat(300)}` }),
            "event id is not one Stripe sends",
          ],
          [
            JSON.stringify({
              ...SCENARIOS.gambling,
              deep: JSON.parse("[".repeat(40) + "]".repeat(40)),
            }),
            "event nested deeper than 32 levels",
          ],
          [
            JSON.stringify({ authorization_id: "iauth_1", request: { id: "iauth_1" } }),
            "a decision-log record without its decided_at or reasons",
          ],
          [
            JSON.stringify({
              authorization_id: "iauth_1",
              request: { id: "iauth_1" },
              decided_at: "2026-11-26T00:00:00.000Z",
              reasons: [],
            }),
            "a decision-log record's request: event has no issuing authorization",
          ],
        ];
        for (const [line, reason] of cases) {
          await Deno.writeTextFile(file, `${good}\n\n${line}\n`);
          const { code, stderr } = await task("replay", [file]);
          assertEquals(code, 1);
          assertEquals(oneLine(stderr), `error: ${file}:3: ${reason}`);
        }
      } finally {
        await Deno.remove(file);
      }
    },
  );
  await t.step(
    "a --policies module that is missing, or whose policy refuses its configuration",
    async () => {
      const missing = await task("policy:check", [
        "--policies",
        "tests/fixtures/pipelines/nope.ts",
      ]);
      assertEquals(missing.code, 1);
      assertMatch(
        oneLine(missing.stderr),
        /^error: Cannot load tests\/fixtures\/pipelines\/nope\.ts: Module not found/,
      );
      const typo = await task("replay", [
        "README.md",
        "--policies",
        "tests/fixtures/pipelines/category_typo.ts",
      ]);
      assertEquals(typo.code, 1);
      assertMatch(
        oneLine(typo.stderr),
        /^error: Cannot load tests\/fixtures\/pipelines\/category_typo\.ts: Cannot create blockCategories: unknown merchant category or MCC "gambling"/,
      );
    },
  );
  await t.step(
    "a --policies module whose policy file has a mistake names the file and line",
    async () => {
      // Before: `SyntaxError: Expected ',', got ';'` and `undefinedThing is not defined`, with no
      // word of which file of the pipeline to open.
      await Deno.mkdir("data", { recursive: true });
      const dir = await Deno.makeTempDir({ dir: "data" });
      try {
        await Deno.writeTextFile(`${dir}/syntax.ts`, "export const limit = (1;\n");
        await Deno.writeTextFile(`${dir}/name.ts`, "export const limit = undefinedThing + 1;\n");
        for (const [file, at] of [["syntax.ts", "syntax.ts:1:"], ["name.ts", "name.ts:1:22"]]) {
          await Deno.writeTextFile(
            `${dir}/mod.ts`,
            `import "./${file}";\nexport const pipeline = [];\n`,
          );
          const { code, stderr } = await task("policy:check", ["--policies", `${dir}/mod.ts`]);
          assertEquals(code, 1);
          assertStringIncludes(oneLine(stderr), `(at ${dir}/${at}`);
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
  await t.step("replay of a line holding terminal escapes does not show them", async () => {
    const file = await Deno.makeTempFile({ suffix: ".jsonl" });
    try {
      // ESC [2J clears a terminal's screen; the parse error quoted the line (escaped), now not.
      await Deno.writeTextFile(file, "\x1b[2J\x1b]0;pwned\x07 not json\n");
      const { code, stderr } = await task("replay", [file]);
      assertEquals(code, 1);
      const line = oneLine(stderr);
      assertMatch(line, new RegExp(`^error: ${RegExp.escape(file)}:1: `));
      assertEquals(/[\p{Cc}\p{Cf}]/u.test(line), false, JSON.stringify(line));
      assert(line.endsWith(": a line is not valid JSON"), line);
    } finally {
      await Deno.remove(file);
    }
  });
  await t.step("policy:check with a stray argument", async () => {
    const { code, stderr } = await task("policy:check", ["extra", "args"]);
    assertEquals(code, 2);
    assertEquals(oneLine(stderr), "error: unexpected extra; see deno task policy:check --help");
  });
  await t.step("replay of a file that is not JSON Lines never prints its text", async () => {
    // Before: JSON.parse's message quoted the line's start: part of the secret here.
    const path = await Deno.makeTempFile();
    await Deno.writeTextFile(path, "whsec_R8pmSecretValue0123\n");
    try {
      const { code, stderr } = await task("replay", [path]);
      assertEquals(code, 1);
      assertStringIncludes(oneLine(stderr), "not valid JSON");
      assert(!stderr.includes("whsec_R8pm"), stderr);
    } finally {
      await Deno.remove(path);
    }
  });
  await t.step("an unknown option", async () => {
    const { code, stderr } = await task("replay", ["--polices", "x.ts", "f.jsonl"]);
    assertEquals(code, 2);
    assertEquals(oneLine(stderr), "error: unknown option --polices; see deno task replay --help");
  });
  await t.step("reset of a store that is not a local file", async () => {
    const { code, stderr } = await task("reset", [], { KV_PATH: ":memory:" });
    assertEquals(code, 2);
    assertMatch(oneLine(stderr), /^error: KV_PATH=:memory: is not a local file/);
  });
  await t.step(
    "reset of a file that is not a store (the development secret) keeps it",
    async () => {
      const path = "data/not_a_store_for_reset_test";
      await Deno.mkdir("data", { recursive: true });
      await Deno.writeTextFile(path, "whsec_kept");
      try {
        const { code, stderr } = await task("reset", [], { KV_PATH: path });
        assertEquals(code, 2);
        assertEquals(
          oneLine(stderr),
          `error: ${path} is not a Deno KV store; reset deletes only that (delete it yourself if it is one SQLite can no longer read)`,
        );
        assertEquals(await Deno.readTextFile(path), "whsec_kept");
      } finally {
        await Deno.remove(path);
      }
    },
  );
  await t.step(
    "reset keeps what only looks like a store: a text file, another program's database",
    async () => {
      // Before: any file named *.sqlite3 was deleted unread, and any SQLite database whatever its
      // tables.
      const text = "data/notes_for_reset_test.sqlite3";
      const other = "data/other_app_for_reset_test.db";
      await Deno.writeTextFile(text, "not a database");
      const { DatabaseSync } = await import("node:sqlite");
      const db = new DatabaseSync(other);
      db.exec("CREATE TABLE notes (body text)");
      db.close();
      try {
        for (const path of [text, other]) {
          const { code, stderr } = await task("reset", [], { KV_PATH: path });
          assertEquals(code, 2, path);
          assertMatch(oneLine(stderr), new RegExp(`^error: ${path} is not a Deno KV store`));
          assert(await Deno.stat(path).then(() => true, () => false), `${path} kept`);
        }
      } finally {
        for (const path of [text, other]) await Deno.remove(path);
      }
    },
  );
  await t.step("reset deletes a Deno KV store", async () => {
    const path = "data/store_for_reset_test.sqlite3";
    const kv = await Deno.openKv(path);
    await kv.set(["kept?"], "no");
    kv.close();
    const { code } = await task("reset", [], { KV_PATH: path });
    assertEquals(code, 0);
    assertEquals(await Deno.stat(path).then(() => true, () => false), false);
  });
});

Deno.test("simulate lists its scenarios, uses a fresh card per run or --card, and resets", async (t) => {
  await t.step("--list", async () => {
    const { code, stdout } = await task("simulate", ["--list"]);
    assertEquals(code, 0);
    assertEquals(stdout.trim().split("\n"), [
      ...Object.keys(ALL_SCENARIOS),
      ...Object.keys(SEQUENCES),
    ]);
  });
  await using server = await startTestServer();
  const simulate = (...args: string[]) =>
    task("simulate", ["over_cap_controllable", "--url", `${server.url}/webhook`, ...args], {
      STRIPE_WEBHOOK_SECRET: TEST_SECRET,
    });
  await t.step("a fresh card each run: the daily limit never carries over", async () => {
    const cards = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const { code, stdout } = await simulate();
      assertEquals(code, 0, stdout);
      cards.add(/^card (\S+)$/m.exec(stdout)![1]);
      assertMatch(stdout, /over_cap_controllable\s+yes\s+1,000\.00 USD\s/);
    }
    assertEquals(cards.size, 6);
  });
  await t.step("--card keeps one card: its daily limit runs out", async () => {
    const outputs = [];
    for (let i = 0; i < 6; i++) outputs.push((await simulate("--card", "ic_sim_kept")).stdout);
    assertMatch(outputs[4], /over_cap_controllable\s+yes\s+1,000\.00 USD\s/);
    assertMatch(outputs[5], /over_cap_controllable\s+no\s+.*spend_limit_exceeded:daily:usd/);
  });
  await t.step(
    "reset deletes a local store, and says what to run for one outside ./data",
    async () => {
      const dir = await Deno.makeTempDir({ prefix: "authorizer_reset_" });
      try {
        const kvPath = `${dir}/kv.sqlite3`;
        (await Deno.openKv(kvPath)).close();
        const refused = await task("reset", [], { KV_PATH: kvPath });
        assertEquals(refused.code, 1);
        const command = /run: (deno run .*)$/m.exec(refused.stderr)?.[1];
        assert(command, refused.stderr);
        const { code, stdout } = await run(command.split(" ").slice(1), { KV_PATH: kvPath });
        assertEquals(code, 0);
        assertStringIncludes(stdout, `removed ${kvPath}`);
        assertEquals(await Deno.stat(kvPath).then(() => true, () => false), false);
        const again = await run(command.split(" ").slice(1), { KV_PATH: kvPath });
        assertStringIncludes(again.stdout, "nothing to reset");
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
});

/**
 * A server in `DECISION_MODE=api`, beside a stand-in for Stripe's API that
 * approves or declines as asked, for `use`; both stopped after it.
 */
async function withApiModeServer(use: (server: TestServer) => Promise<void>): Promise<void> {
  const stripeApi = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const id = new URL(request.url).pathname.split("/")[4];
    return Response.json({
      id,
      object: "issuing.authorization",
      approved: request.url.endsWith("/approve"),
    });
  });
  try {
    await using server = await startTestServer({
      DECISION_MODE: "api",
      STRIPE_SECRET_KEY: "sk_test_51SimulateApiModeKeyForTests",
      STRIPE_API_BASE: `http://127.0.0.1:${stripeApi.addr.port}`,
      ADMIN_TOKEN,
    });
    await use(server);
  } finally {
    await stripeApi.shutdown();
  }
}

Deno.test("simulate shows the decisions of DECISION_MODE=api truly: the logged ones", async () => {
  await withApiModeServer(async (server) => {
    const { code, stdout } = await task(
      "simulate",
      ["gambling", "ordinary_grocery", "--url", `${server.url}/webhook`],
      { STRIPE_WEBHOOK_SECRET: TEST_SECRET, ADMIN_TOKEN },
    );
    assertEquals(code, 0, stdout);
    assertMatch(
      stdout,
      /gambling\s+no \(via API\)\s+mcc_blocked:betting_casino_gambling \(blockCategories\)/,
    );
    assertMatch(stdout, /ordinary_grocery\s+yes \(via API\)\s/);
  });
});

Deno.test("start with KV_PATH outside ./data says exactly what to run, and that command serves", async () => {
  const dir = await Deno.makeTempDir({ prefix: "authorizer_kv_" });
  try {
    const env = { STRIPE_WEBHOOK_SECRET: TEST_SECRET, KV_PATH: `${dir}/kv.sqlite3` };
    const refused = await run(startTaskArgs(), { ...env, PORT: String(freePort()) });
    assertEquals(refused.code, 1);
    const command = /run: (deno run .*)$/m.exec(refused.stderr)?.[1];
    assert(command, refused.stderr);
    await using child = await spawnService(command.split(" ").slice(1), env, freePort());
    const response = await postSigned(`${child.url}/webhook`, SCENARIOS.gambling);
    assertEquals((await response.json()).approved, false);
    assert((await Deno.stat(`${dir}/kv.sqlite3`)).isFile, "the store is where KV_PATH says");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("simulate shows an increment being declined by the daily limit", async () => {
  await using server = await startTestServer();
  const { code, stdout } = await task(
    "simulate",
    ["increment_over_daily_limit", "--url", `${server.url}/webhook`],
    { STRIPE_WEBHOOK_SECRET: TEST_SECRET },
  );
  assertEquals(code, 0, stdout);
  const rows = stdout.split("\n").filter((row) => row.startsWith("increment_over_daily_limit"));
  assertEquals(rows.length, 7);
  for (const row of rows.slice(0, 6)) assertMatch(row, /:\s\S.*\s{2,}yes\s/);
  assertMatch(
    rows[6],
    /^increment_over_daily_limit: hotel increment: \+300\.00\s+no\s+spend_limit_exceeded:daily:usd \(spendLimit\)/,
  );
});

Deno.test("starting twice on one port is one line and exit 1, not a stack trace", async () => {
  const port = freePort();
  await using _first = await spawnService(
    startTaskArgs(),
    { STRIPE_WEBHOOK_SECRET: TEST_SECRET },
    port,
  );
  const second = await run(startTaskArgs(), {
    STRIPE_WEBHOOK_SECRET: TEST_SECRET,
    KV_PATH: ":memory:",
    HOSTNAME: "127.0.0.1",
    PORT: String(port),
  });
  assertEquals(second.code, 1);
  const lines = second.stderr.trim().split("\n").filter((line) =>
    !line.startsWith("warning: Detected")
  );
  assertEquals(lines, [
    `Cannot start: 127.0.0.1:${port} is already in use (another deno task start?): stop it, or set PORT to a free port`,
  ]);
});

Deno.test("an address this machine cannot listen on is one line and exit 1, not a stack trace", async (t) => {
  // TEST-NET-1 (RFC 5737) is never assigned to a machine; a link-local address needs a scope.
  for (const hostname of ["192.0.2.1", "fe80::1"]) {
    await t.step(hostname, async () => {
      const result = await run(startTaskArgs(), {
        STRIPE_WEBHOOK_SECRET: TEST_SECRET,
        KV_PATH: ":memory:",
        HOSTNAME: hostname,
        PORT: String(freePort()),
      });
      assertEquals(result.code, 1);
      const lines = result.stderr.trim().split("\n").filter((line) =>
        !line.startsWith("warning: Detected")
      );
      assertEquals(lines.length, 1, lines.join("\n"));
      assertStringIncludes(lines[0], `Cannot start: cannot listen on ${hostname}:`);
      assertStringIncludes(lines[0], "check HOSTNAME and PORT");
    });
  }
});

Deno.test("simulate gives up, in one line and exit 1, on a server that takes the connection but never answers", async () => {
  // Accepts and never writes: a stuck server, or another program on the port.
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of silent) held.push(conn);
    } catch { /* closed */ }
  })();
  // Answers the webhook, then never answers the read of the logged decision.
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  const stuckReads = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      const { pathname } = new URL(request.url);
      if (pathname === "/api/webhook") return Response.json({ received: true });
      if (pathname === "/webhook") return Response.json({ approved: true, metadata: {} });
      await released;
      return new Response(null, { status: 503 });
    },
  );
  const silentUrl = `http://127.0.0.1:${(silent.addr as Deno.NetAddr).port}/webhook`;
  const stuckBase = `http://127.0.0.1:${stuckReads.addr.port}`;
  const cases: [name: string, args: string[], url: string][] = [
    ["the webhook", ["--url", silentUrl], silentUrl],
    [
      "API mode's read of the logged decision",
      ["--url", `${stuckBase}/api/webhook`],
      `${stuckBase}/decisions/iauth_gambling_`,
    ],
    [
      // The token is checked before anything is sent: that read is the one left waiting.
      "--explain's check of ADMIN_TOKEN",
      ["--url", `${stuckBase}/webhook`, "--explain"],
      `${stuckBase}/policies`,
    ],
  ];
  try {
    // All at once, not as steps one after another: each waits out the 10 s timeout.
    await Promise.all(cases.map(async ([name, args, url]) => {
      const { code, stderr } = await task("simulate", ["gambling", ...args], {
        STRIPE_WEBHOOK_SECRET: TEST_SECRET,
        ADMIN_TOKEN,
      });
      assertEquals(code, 1, `${name}: ${stderr}`);
      assertEquals(stderr.trim().split("\n").length, 1, `${name}: ${stderr}`);
      // The decision's id ends in the run's suffix.
      assertMatch(
        stderr,
        new RegExp(`^error: no answer from ${RegExp.escape(url)}\\S* within 10 s: `),
        name,
      );
    }));
  } finally {
    release();
    silent.close();
    await accepting;
    for (const conn of held) conn.close();
    await stuckReads.shutdown();
  }
});

Deno.test("simulate reads STRIPE_WEBHOOK_SECRET and PORT as the server does", async (t) => {
  await using server = await startTestServer();
  await t.step("an empty entry in the secret list is dropped", async () => {
    const { code, stdout, stderr } = await task(
      "simulate",
      ["gambling", "--url", `${server.url}/webhook`],
      { STRIPE_WEBHOOK_SECRET: ` ,${TEST_SECRET}` },
    );
    assertEquals(code, 0, stdout + stderr);
    assertMatch(stdout, /^gambling\s+no\s/m);
  });
  await t.step("PORT with a space around it", async () => {
    const port = new URL(server.url).port;
    const { code, stdout, stderr } = await task("simulate", ["gambling"], {
      STRIPE_WEBHOOK_SECRET: TEST_SECRET,
      PORT: `${port} `,
    });
    assertEquals(code, 0, stdout + stderr);
    assertMatch(stdout, /^gambling\s+no\s/m);
  });
  await t.step("a PORT the server refuses is refused the same way", async () => {
    const { code, stderr } = await task("simulate", ["gambling"], {
      STRIPE_WEBHOOK_SECRET: TEST_SECRET,
      PORT: "80OO",
    });
    assertEquals(code, 1);
    assertEquals(stderr.trim(), 'error: PORT must be an integer from 0 to 65535, got "80OO"');
  });
});

Deno.test("simulate refuses to go on with an ADMIN_TOKEN the server refuses", async (t) => {
  const wrongToken = {
    STRIPE_WEBHOOK_SECRET: TEST_SECRET,
    ADMIN_TOKEN: "not-the-server-admin-token-0123",
  };
  await t.step("--explain", async () => {
    await using server = await startTestServer({ ADMIN_TOKEN });
    const { code, stdout, stderr } = await task(
      "simulate",
      ["gambling", "--url", `${server.url}/webhook`, "--explain"],
      wrongToken,
    );
    assertEquals(code, 1, stdout);
    assertEquals(
      stderr.trim(),
      "error: ADMIN_TOKEN was refused (HTTP 401): set it to the server's ADMIN_TOKEN",
    );
    assertEquals(
      server.logs.filter((record) => record.msg === "decision").length,
      0,
      "refused before any authorization was sent",
    );
  });
  await t.step("API mode's logged decision", async () => {
    await withApiModeServer(async (server) => {
      const { code, stdout, stderr } = await task(
        "simulate",
        ["gambling", "--url", `${server.url}/webhook`],
        wrongToken,
      );
      assertEquals(code, 1, stdout);
      assertEquals(
        stderr.trim(),
        "error: ADMIN_TOKEN was refused (HTTP 401): set it to the server's ADMIN_TOKEN",
      );
    });
  });
});

Deno.test("replay and policy:check take relative paths from the directory deno task was run in (INIT_CWD)", async (t) => {
  // `deno task` runs the command from the repository root and names the user's directory in
  // INIT_CWD; a folder two levels down makes a path resolved against the wrong one miss.
  const dataDir = new URL("data/", ROOT);
  await Deno.mkdir(dataDir, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: fileURLToPath(dataDir), prefix: "init_cwd_" });
  try {
    // A hotel's first request and its increment: two requests, one authorization.
    const hotel = { id: "iauth_replay_hotel", pending_request: { amount: 5_000 } };
    const events = [
      ...Object.values(SCENARIOS),
      requestEvent(hotel),
      requestEvent({ ...hotel, pending_request: { amount: 2_000 } }, [{ amount: 5_000 }]),
    ].map((event) => JSON.stringify(event));
    await Deno.writeTextFile(`${dir}/events.jsonl`, events.join("\n"));
    const env = { INIT_CWD: dir };
    await t.step("replay's file and --policies", async () => {
      const { code, stdout, stderr } = await task("replay", [
        "events.jsonl",
        "--policies",
        "../../tests/fixtures/pipelines/block_groceries.ts",
      ], env);
      assertEquals(code, 0, stderr);
      assertStringIncludes(
        stdout,
        `${events.length} requests (${
          events.length - 1
        } authorizations) replayed against ../../tests/fixtures/pipelines/block_groceries.ts`,
      );
    });
    await t.step("policy:check's --policies", async () => {
      const { code, stdout, stderr } = await task("policy:check", [
        "--policies",
        "../../tests/fixtures/pipelines/questionable.ts",
      ], env);
      assertEquals(code, 1, stderr);
      assertMatch(stderr, /^warning: groceriesOnly always fires/m);
      assertStringIncludes(stdout, "never approved by the pipeline");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
