/**
 * Entry point, wiring only: the environment and `policies/` in, a `fetch`
 * handler out.
 *
 * - `deno task start` runs `deno run main.ts --listen`: listens on PORT/HOSTNAME.
 * - `deno serve [--parallel] main.ts` uses the default export. (`import.meta.main`
 *   is true under both commands, hence the explicit flag.)
 * - Deno Deploy (`DENO_DEPLOYMENT_ID` set) runs it as `deno run main.ts`: it
 *   serves on `Deno.serve`, where Deploy routes requests.
 *
 * @module
 */
import denoJson from "./deno.json" with { type: "json" };
import { createService, type Service } from "./lib/service/service.ts";
import { exportForServe, serveOnDeploy, serveService } from "./lib/service/serve.ts";
import { commandForKvFile } from "./lib/service/config.ts";
import { errorLine } from "./lib/service/error_line.ts";

if (Deno.args.includes("--help")) {
  console.log(`usage: deno task start   (deno task dev: the same, restarting on changes)

Serves the webhook on http://$HOSTNAME:$PORT$WEBHOOK_PATH (default 0.0.0.0:8000/webhook;
127.0.0.1 without STRIPE_WEBHOOK_SECRET) with the pipeline of policies/mod.ts. Configuration comes from environment
variables; see README.md, "Configuration".`);
  Deno.exit(0);
}

let service: Service;
try {
  // Imported here, not statically, so a policy refusing its configuration
  // (a category typo in policies/mod.ts) is one line below, not a stack trace.
  const { defaultPipeline } = await import("./policies/mod.ts");
  const { shadowPipeline } = await import("./policies/shadow.ts");
  service = await createService(Deno.env, {
    policies: defaultPipeline,
    shadowPolicies: shadowPipeline,
    policiesDir: new URL("./policies/", import.meta.url),
    serviceVersion: denoJson.version,
  });
} catch (error) {
  const message = errorLine(error);
  const kvPath = Deno.env.get("KV_PATH");
  // `deno task start` may write only ./data: say exactly what to run for a store elsewhere.
  const hint = kvPath && /Requires (read|write) access/.test(message)
    ? `; for KV_PATH outside ./data run: ${commandForKvFile(denoJson.tasks.start, kvPath)}`
    : "";
  console.error(`Cannot start: ${message}${hint}`);
  Deno.exit(1);
}

const servesItself = Deno.args.includes("--listen") || service.config.onDeploy;
/**
 * Under `deno serve`, what it serves. Serving itself, nothing: `deno run`
 * warns of a default export with a `fetch` ("did you mean to run deno
 * serve?"), which it would not serve here.
 */
const served: Deno.ServeDefaultExport | Record<string, never> = servesItself
  ? {}
  : exportForServe(service);
export default served;

if (servesItself) {
  try {
    if (Deno.args.includes("--listen")) await serveService(service);
    else serveOnDeploy(service);
  } catch (error) {
    const { hostname, port } = service.config;
    if (error instanceof Deno.errors.AddrInUse) {
      console.error(
        `Cannot start: ${hostname}:${port} is already in use (another deno task start?): stop it, or set PORT to a free port`,
      );
    } else {
      // An address the machine lacks, a name that does not resolve, a port it may not take.
      console.error(
        `Cannot start: cannot listen on ${hostname}:${port} (${
          errorLine(error)
        }): check HOSTNAME and PORT`,
      );
    }
    Deno.exit(1);
  }
}
