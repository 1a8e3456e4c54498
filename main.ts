/**
 * Entry point, wiring only: the environment and `policies/` in, a `fetch`
 * handler out.
 *
 * - `deno task start` runs `deno run main.ts --listen`: listens on PORT/HOSTNAME.
 * - `deno serve [--parallel] main.ts` and Deno Deploy use the default export.
 *   (`import.meta.main` is true in both cases, hence the explicit flag.)
 *
 * @module
 */
import denoJson from "./deno.json" with { type: "json" };
import { createService, type Service } from "./lib/service/service.ts";
import { defaultPipeline } from "./policies/mod.ts";
import { shadowPipeline } from "./policies/shadow.ts";

let service: Service;
try {
  service = await createService(Deno.env, {
    policies: defaultPipeline,
    shadowPolicies: shadowPipeline,
    policiesDir: new URL("./policies/", import.meta.url),
    serviceVersion: denoJson.version,
  });
} catch (error) {
  console.error(
    `Cannot start: ${error instanceof Error ? error.message : error}`,
  );
  Deno.exit(1);
}

export default { fetch: service.fetch } satisfies Deno.ServeDefaultExport;

if (Deno.args.includes("--listen")) {
  const { port, hostname, webhookPath } = service.config;
  const server = Deno.serve({
    port,
    hostname,
    onListen: (address) =>
      console.log(
        JSON.stringify({
          level: "info",
          msg: "listening",
          url: `http://${address.hostname}:${address.port}${webhookPath}`,
        }),
      ),
  }, service.fetch);
  // Finish the requests in flight, then exit (which also flushes OpenTelemetry).
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, async () => {
      await server.shutdown();
      await service[Symbol.asyncDispose]();
      Deno.exit(0);
    });
  }
}
