/**
 * A token-protected dashboard in a real browser: without the token nothing is shown; `/?token=...` once sets
 * an HttpOnly, SameSite=Strict cookie and lands on `/` with the token gone from the address; after that every
 * page, its stylesheet and its script load with the cookie alone, and script cannot read the cookie.
 */
/// <reference lib="dom" />
import { randomBytes } from 'node:crypto';
import { CLI, hoststore } from '../helpers/cli.js';
import { makeHostFixture, requireRoot, type HostFixture } from '../helpers/host-fixture.js';
import { storageWire } from '../helpers/specs.js';
import { useBrowser } from '../helpers/browser.js';
import { startDashboard, type DashboardProcess } from '../helpers/dashboard-process.js';

const it = requireRoot() ? test : test.skip;
const browser = useBrowser();
const TOKEN = randomBytes(24).toString('hex');
let host: HostFixture | undefined;
let dashboard: DashboardProcess | undefined;

beforeAll(async () => {
  if (!requireRoot()) return;
  host = makeHostFixture('hoststore-dashboard-token-');
  const made = hoststore(['handle', 'storage', 'converge'], storageWire(host.root, { project: 'shop', name: 'data' }));
  if (made.status !== 0) throw new Error(`storage converge failed: ${made.stderr}`);
  // The token guards whatever address it listens on; loopback keeps the test off the network.
  dashboard = await startDashboard(CLI, ['--root', host.root], { HOSTSTORE_DASHBOARD_TOKEN: TOKEN });
}, 120_000);

afterAll(async () => {
  await dashboard?.stop();
  host?.cleanup();
});

it('without the token, or with a wrong one, the page is refused and no cookie is set', async () => {
  const { page } = await browser.newPage();
  expect((await page.goto(`${dashboard!.url}/`))?.status()).toBe(401);
  expect(await page.locator('#storage').count()).toBe(0);
  expect((await page.goto(`${dashboard!.url}/?token=${TOKEN.slice(1)}x`))?.status()).toBe(401);
  expect(await page.context().cookies()).toEqual([]);
  expect((await page.goto(`${dashboard!.url}/api/storage`))?.status()).toBe(401);
});

it('/?token=... sets an HttpOnly, SameSite=Strict cookie, drops the token from the address, and the pages then work', async () => {
  const recorded = await browser.newPage();
  const { page } = recorded;
  const response = await page.goto(`${dashboard!.url}/?token=${TOKEN}`, { waitUntil: 'networkidle' });
  expect(response?.status()).toBe(200);
  expect(page.url()).toBe(`${dashboard!.url}/`);
  const [cookie, ...others] = await page.context().cookies();
  expect(others).toEqual([]);
  expect(cookie).toMatchObject({ name: 'hoststore_dashboard', httpOnly: true, sameSite: 'Strict' });
  expect(await page.evaluate(() => document.cookie)).toBe('');
  // The script loaded with the cookie: sorting works.
  const name = page.locator('#storage th[data-sort="name"]');
  await name.locator('button').click();
  expect(await name.getAttribute('aria-sort')).not.toBeNull();
  await page.locator('#storage tr[data-name="data"] a.storage-link').click();
  await page.waitForLoadState('networkidle');
  expect((await page.locator('h1').textContent())?.trim()).toContain('data');
  expect(await page.locator('#history li[data-event="created"]').count()).toBe(1);
  expect(await recorded.cspViolations()).toEqual([]);
  expect(recorded.problems).toEqual([]);
});
