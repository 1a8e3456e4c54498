/**
 * Headless Chromium for the dashboard tests: Debian's `chromium` (or
 * `CHROMIUM_PATH`) driven by puppeteer-core.
 *
 * @module
 */
import puppeteer, { type Browser } from "puppeteer-core";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

/** Skip browser tests only where no Chromium is installed and `REQUIRE_BROWSER` is unset (CI sets it). */
export const NO_BROWSER = !Deno.env.get("REQUIRE_BROWSER") &&
  !await Deno.stat(CHROMIUM).then(() => true, () => false);

/** A headless Chromium without a sandbox, a GPU or background traffic. Close it when done. */
export function launchChromium(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
