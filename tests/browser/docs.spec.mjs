// Opens Folio's /docs in Debian's headless Chromium, the way a person would:
// the operations are listed, one is expanded, "Try it out" and "Execute" send a
// real request, and its answer is shown. Meanwhile every request the page makes
// must go to Folio itself, and the page's Content-Security-Policy must refuse
// nothing (a refusal means the policy and the page disagree).
//
// Usage: node docs.spec.mjs BASE_URL OUT_DIR METHOD PATH
// Prints one JSON line with what it saw; exits 0 only when every check passed.
// tests/test_docs_browser.py runs it against a real Folio server.

import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
const TIMEOUT_MS = 30_000;

const [baseUrl, outDir, method, path] = process.argv.slice(2);
if (!baseUrl || !outDir || !method || !path) {
  console.error("usage: node docs.spec.mjs BASE_URL OUT_DIR METHOD PATH");
  process.exit(2);
}
const folio = new URL(baseUrl).origin;

function watch(page, seen) {
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (url.protocol !== "data:" && url.origin !== folio) seen.foreignRequests.push(request.url());
  });
  page.on("pageerror", (error) => seen.pageErrors.push(String(error)));
  page.on("console", (message) => {
    if (message.type() === "error") seen.consoleErrors.push(message.text());
  });
}

async function tryOperation(page, seen) {
  const operation = page.locator(`.opblock-${method.toLowerCase()}`, {
    has: page.locator(`.opblock-summary-path[data-path="${path}"]`),
  });
  await operation.locator(".opblock-summary").first().click();
  await operation.getByRole("button", { name: "Try it out" }).click();
  await operation.getByRole("button", { name: "Execute" }).click();
  const status = operation.locator(".live-responses-table tbody .response-col_status").first();
  await status.waitFor();
  seen.status = (await status.innerText()).trim();
  const body = operation.locator(".live-responses-table tbody .microlight").first();
  seen.responseBody = (await body.innerText()).trim();
}

async function main() {
  const seen = { foreignRequests: [], pageErrors: [], consoleErrors: [], cspViolations: [] };
  const context = await chromium.launchPersistentContext(mkdtempSync(join(outDir, "profile-")), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(TIMEOUT_MS);
    // Init scripts are injected by the browser, not by the page: the CSP does not apply.
    await page.addInitScript(() => {
      window.__cspViolations = [];
      document.addEventListener("securitypolicyviolation", (event) => {
        window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
      });
    });
    watch(page, seen);
    await page.goto(`${folio}/docs`);
    await page.locator(".opblock").first().waitFor();
    seen.operations = await page.locator(".opblock").count();
    await tryOperation(page, seen);
    seen.screenshot = join(outDir, "docs.png");
    await page.screenshot({ path: seen.screenshot, fullPage: true });
    seen.cspViolations = await page.evaluate(() => window.__cspViolations);
  } finally {
    await context.close();
  }
  return seen;
}

const seen = await main().catch((error) => ({ error: String(error) }));
const passed =
  !seen.error &&
  seen.operations > 0 &&
  seen.status === "200" &&
  [seen.foreignRequests, seen.pageErrors, seen.consoleErrors, seen.cspViolations].every(
    (list) => list.length === 0,
  );
console.log(JSON.stringify({ passed, ...seen }));
process.exit(passed ? 0 : 1);
