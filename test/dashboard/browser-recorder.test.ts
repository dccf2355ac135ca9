/**
 * The browser helper's own checks can fail: a page that breaks each rule the dashboard's pages must keep
 * (under the dashboard's CSP) has every break recorded, and a page that keeps them has none.
 */
/// <reference lib="dom" />
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { useBrowser } from '../helpers/browser.js';

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
const PAGES: Record<string, string> = {
  '/good': '<!doctype html><title>good</title><p>fine</p><script src="/good.js"></script>',
  '/good.js': 'document.body.dataset.ran = "yes";',
  // Chromium asks every site for one; a 404 for it is a console error (the dashboard serves one too).
  '/favicon.ico': '',
  '/bad':
    '<!doctype html><title>bad</title><script>window.inline = 1</script><img src="https://example.invalid/x.png">' +
    '<img src="/missing.png"><script src="/bad.js"></script>',
  '/bad.js': 'console.error("boom in the console"); setTimeout(() => { throw new Error("boom uncaught"); });',
};

const browser = useBrowser();
let server: http.Server;
let base: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const body = PAGES[req.url ?? ''];
    res.setHeader('Content-Security-Policy', CSP);
    if (body === undefined) return void res.writeHead(404).end('not found');
    res.writeHead(200, { 'Content-Type': req.url!.endsWith('.js') ? 'text/javascript' : 'text/html' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

test('a page that keeps the rules records nothing', async () => {
  const { page, problems, cspViolations } = await browser.newPage();
  await page.goto(`${base}/good`, { waitUntil: 'networkidle' });
  expect(await page.evaluate(() => document.body.dataset.ran)).toBe('yes');
  expect(await cspViolations()).toEqual([]);
  expect(problems).toEqual([]);
});

test('a page that breaks them has each break recorded: inline script, foreign image, 404, console error, uncaught error', async () => {
  const { page, problems, cspViolations } = await browser.newPage();
  await page.goto(`${base}/bad`, { waitUntil: 'networkidle' });
  // The uncaught error is thrown from a timer after load.
  await page.waitForTimeout(200);
  const violations = await cspViolations();
  expect(violations).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^script-src.* blocked inline/),
      expect.stringMatching(/^img-src.* blocked https:\/\/example\.invalid/),
    ]),
  );
  expect(await page.evaluate(() => (window as unknown as { inline?: number }).inline)).toBeUndefined();
  const text = problems.join('\n');
  expect(text).toMatch(/HTTP 404: .*\/missing\.png/);
  expect(text).toMatch(/console error: boom in the console/);
  expect(text).toMatch(/page error: boom uncaught/);
  expect(text).toMatch(/console error: .*Content Security Policy/);
});
