/**
 * A real browser for the dashboard's tests (Debian's Chromium driven by playwright-core) whose pages record
 * everything that went wrong in them. The dashboard itself: ./dashboard-process.ts.
 */
/// <reference lib="dom" />
import * as fs from 'node:fs';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** A page and what went wrong in it since it opened: console errors, uncaught errors, failed requests, CSP violations. */
export interface RecordedPage {
  readonly page: Page;
  readonly problems: string[];
  /** CSP violations the page reported (read from the page: an init script listens for them). */
  cspViolations(): Promise<string[]>;
}

export interface BrowserFixture {
  /** A new page (1280×800) in a fresh context (with `options`, e.g. no JavaScript); closed with the browser in afterAll. */
  newPage(options?: BrowserContextOptions): Promise<RecordedPage>;
}

/**
 * Launches Chromium once for the test file (beforeAll) and closes it in afterAll, whatever the tests did.
 * No Chromium is a failure that says how to get it, never a skip: a skipped browser test proves nothing.
 */
export function useBrowser(): BrowserFixture {
  let browser: Browser | undefined;
  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} is missing: the dashboard's browser tests need Chromium; install the Debian package chromium: examples/install-host-tools.sh`,
      );
    }
    // As root Chromium refuses to start with its sandbox; the pages it opens are our own server's.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
  });
  afterAll(async () => {
    await browser?.close();
  });
  return {
    async newPage(options = {}) {
      if (!browser) throw new Error('the browser did not start (see the beforeAll failure above)');
      const context = await browser.newContext({
        viewport: { width: 1280, height: 800 },
        deviceScaleFactor: 1,
        ...options,
      });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console error: ${message.text()} (${message.location().url})`);
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('requestfailed', (request) =>
        problems.push(`request failed: ${request.url()} (${request.failure()?.errorText ?? 'unknown'})`),
      );
      page.on('response', (response) => {
        if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
      });
      // Runs before any of the page's own scripts, outside its CSP (injected by the browser, not the page).
      await context.addInitScript(() => {
        const seen: string[] = [];
        (window as unknown as { __cspViolations: string[] }).__cspViolations = seen;
        document.addEventListener('securitypolicyviolation', (event) =>
          seen.push(`${event.violatedDirective} blocked ${event.blockedURI || 'inline'}`),
        );
      });
      return {
        page,
        problems,
        cspViolations: () =>
          page.evaluate(() => [...((window as unknown as { __cspViolations?: string[] }).__cspViolations ?? [])]),
      };
    },
  };
}
