/**
 * A real browser for the dashboard's tests (Debian's Chromium driven by playwright-core) whose pages record
 * everything that went wrong in them, and the dashboard itself started as a real process of the built CLI.
 */
/// <reference lib="dom" />
import * as fs from 'node:fs';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CLI } from './cli.js';

export const CHROMIUM = '/usr/bin/chromium';

/** A page and what went wrong in it since it opened: console errors, uncaught errors, failed requests, CSP violations. */
export interface RecordedPage {
  readonly page: Page;
  readonly problems: string[];
  /** CSP violations the page reported (read from the page: an init script listens for them). */
  cspViolations(): Promise<string[]>;
}

export interface BrowserFixture {
  /** A new page (1280×800) in a fresh context; closed with the browser in afterAll. */
  newPage(): Promise<RecordedPage>;
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
    async newPage() {
      if (!browser) throw new Error('the browser did not start (see the beforeAll failure above)');
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
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

export interface DashboardProcess {
  /** Where it listens, from its start line, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  readonly child: ChildProcessWithoutNullStreams;
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited within 5 s; resolves with its exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `hoststore dashboard ARGS --listen 127.0.0.1:0` (the built CLI) and waits for its start line
 * (`dashboard: http://HOST:PORT/ ...`, the port it really got), at most `timeoutMs`.
 */
export async function startDashboard(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 20_000,
): Promise<DashboardProcess> {
  const child = spawn(process.execPath, [CLI, 'dashboard', '--listen', '127.0.0.1:0', ...args], {
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(`no start line within ${timeoutMs} ms`), timeoutMs);
    const fail = (why: string) => {
      clearTimeout(timer);
      void stop();
      reject(new Error(`hoststore dashboard ${args.join(' ')}: ${why}\nstdout: ${stdout}\nstderr: ${stderr}`));
    };
    child.stdout.on('data', () => {
      const match = /dashboard: (http:\/\/[^\s/]+)\/?/.exec(stdout);
      if (!match) return;
      if (match[1].endsWith(':0')) return fail('its start line shows port 0, not the port it really listens on');
      clearTimeout(timer);
      resolve(match[1]);
    });
    child.on('exit', (code) => fail(`exited with ${code} before listening`));
  });
  return { url, child, output: () => stdout + stderr, stop };
}
