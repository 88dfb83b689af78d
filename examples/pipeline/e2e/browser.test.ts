// Browser end to end: Debian's Chromium, driven by playwright-core, opens the example page
// served by the real Rust server, starts a run, watches statuses and tokens arrive, lives
// through a server crash and restart (memory broker: the history is gone, so the page must
// say that updates were missed), sees the run finish with its typed result (also in a page
// opened afterwards), sees a run fail on purpose with its typed error, and saves screenshots
// in target/e2e/.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, type Page, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Server, freePort, repoRoot, tempDir } from "./harness.js";

/** Debian's chromium (scripts/install-deps installs it); `CHROMIUM_PATH` overrides. */
const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const artifacts = join(repoRoot, "target", "e2e");

let browser: Browser;
let server: Server | undefined;
const options = { port: 0, dataDir: tempDir("pipeline-browser-e2e-"), tokenDelayMs: 120 };
const pageErrors: string[] = [];

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  options.port = await freePort();
  server = await Server.start(options);
  browser = await chromium.launch({
    executablePath,
    // playwright-core gives every launch a new, empty profile (user data dir).
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.kill("SIGTERM");
});

const status = (page: Page, value: string) =>
  page.waitForSelector(`[data-testid="connection-status"][data-status="${value}"]`, { timeout: 60_000 });

describe("the example page in Chromium", () => {
  test("start a run, watch it, survive a server restart with a visible gap notice, see it finish", async () => {
    const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
    const page = await context.newPage();
    page.on("pageerror", (e) => pageErrors.push(e.message));
    await page.goto(server!.url);
    await page.getByRole("button", { name: "Start run" }).click();

    // Live: the subscription opens, the run starts, steps and tokens appear.
    await status(page, "open");
    await page.waitForSelector('[data-testid="step-checkout"][data-state="succeeded"]', { timeout: 60_000 });
    await page.waitForSelector('[data-testid="step-build"][data-state="running"]', { timeout: 60_000 });
    await page.waitForFunction(() => document.querySelector('[data-testid="log"]')?.textContent?.includes("HEAD is now at"), null, {
      timeout: 60_000,
    });
    const runId = await page.textContent('[data-testid="run-id"]');
    expect(runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await page.isVisible('[data-testid="gap-notice"]')).toBe(false);

    // The server crashes mid-run: the page says it is reconnecting.
    await server!.kill("SIGKILL");
    await status(page, "connecting");
    await page.screenshot({ path: join(artifacts, "pipeline-disconnected.png"), fullPage: true });

    // The server comes back (same port, same stored runs; a new, empty history): the run goes
    // on, the page reconnects and tells the user what it could not recover.
    server = await Server.start(options);
    await status(page, "open");
    await page.waitForSelector('[data-testid="gap-notice"]', { timeout: 60_000 });
    await page.waitForSelector('[data-testid="log-gap"]', { timeout: 60_000 });
    await page.waitForSelector('[data-testid="run-status"][data-state="succeeded"]', { timeout: 60_000 });
    for (const step of ["checkout", "build", "test", "deploy"]) {
      await page.waitForSelector(`[data-testid="step-${step}"][data-state="succeeded"]`, { timeout: 60_000 });
    }
    const log = (await page.textContent('[data-testid="log"]')) ?? "";
    expect(log).toContain("successfully rolled out");
    expect(await page.textContent('[data-testid="run-status"]')).toContain("all 4 steps passed");
    // The run's end, from the lifecycle: runStatus and the typed result (the new epoch after
    // the restart carries it like any other).
    await page.waitForSelector('[data-testid="run-lifecycle"][data-run-status="completed"]', { timeout: 60_000 });
    expect(await page.textContent('[data-testid="run-result"]')).toContain("all 4 steps passed (4 steps");
    expect(await page.textContent('[data-testid="quickstart"]')).toContain("| Run: completed");
    await page.screenshot({ path: join(artifacts, "pipeline.png"), fullPage: true });

    // A page opened after the run ended (same session) shows how it ended at once: the hub
    // tells a late subscriber the terminal status and result.
    const late = await context.newPage();
    late.on("pageerror", (e) => pageErrors.push(e.message));
    await late.goto(`${server!.url}#run=${runId}`);
    await late.waitForSelector('[data-testid="run-lifecycle"][data-run-status="completed"]', { timeout: 30_000 });
    expect(await late.textContent('[data-testid="run-result"]')).toContain("all 4 steps passed");
    await context.close();
    expect(pageErrors).toEqual([]);
  });

  test("a run that fails on purpose shows failed and its typed error", async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    page.on("pageerror", (e) => pageErrors.push(e.message));
    await page.goto(server!.url);
    await page.getByRole("button", { name: "Start a run that fails" }).click();
    await status(page, "open");
    await page.waitForSelector('[data-testid="run-lifecycle"][data-run-status="running"]', { timeout: 60_000 });
    await page.waitForSelector('[data-testid="run-lifecycle"][data-run-status="failed"]', { timeout: 60_000 });
    const error = (await page.textContent('[data-testid="run-error"]')) ?? "";
    expect(error).toContain("Failed at test");
    expect(error).toContain("2 of 128 tests failed");
    expect(await page.isVisible('[data-testid="run-result"]')).toBe(false);
    await page.waitForSelector('[data-testid="step-test"][data-state="failed"]', { timeout: 10_000 });
    await page.screenshot({ path: join(artifacts, "pipeline-failed.png"), fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
