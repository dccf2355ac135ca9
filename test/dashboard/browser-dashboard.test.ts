/**
 * The dashboard in a real browser (Debian's Chromium, playwright-core) against `hoststore dashboard` run as a
 * process on a real root whose storage was made, grown and snapshotted by the CLI as Terraform runs it. Saves
 * the README's screenshots (docs/dashboard.png, docs/dashboard-storage.png).
 */
/// <reference lib="dom" />
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CLI, hoststore } from '../helpers/cli.js';
import { cleanupRoot, requireRoot } from '../helpers/host-fixture.js';
import { mountWire, storageWire } from '../helpers/specs.js';
import { useBrowser, type RecordedPage } from '../helpers/browser.js';
import { startDashboard, type DashboardProcess } from '../helpers/dashboard-process.js';
import { recordEvent } from '../../provider/registry/journal.js';

const DOCS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs');
// A fixed root, so the screenshot shows the same path on every run (it refuses to reuse one left over).
const ROOT = '/tmp/hoststore-dashboard-demo';
// Each step at a pinned time, so the history, the snapshot's name and the pictures are the same on every run.
const AT = {
  create: '2026-11-20T09:00:00Z',
  grow: '2026-11-20T09:05:00Z',
  snapshot: '2026-11-20T09:10:00Z',
  hostile: '2026-11-20T09:15:00Z',
  now: '2026-11-20T09:30:00Z',
};
// Would set these if the page ran it: as text it must show verbatim and run nothing.
const HOSTILE_MESSAGE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
const HOSTILE_REASON = '"><svg onload="window.__pwned=3">';

const it = requireRoot() ? test : test.skip;
const browser = useBrowser();
let dashboard: DashboardProcess | undefined;

function run(args: string[], at: string, spec?: unknown): void {
  const result = hoststore(args, spec, { HOSTSTORE_NOW: at, HOSTSTORE_STACK: 'shop' });
  if (result.status !== 0) throw new Error(`hoststore ${args.join(' ')} failed: ${result.stderr}${result.stdout}`);
}

/** Real bytes (not fallocate, which takes no space in the image): the screenshot's USED and ALLOCATED agree. */
function fill(dir: string, mib: number): void {
  execFileSync('dd', [
    'if=/dev/zero',
    `of=${path.join(dir, 'filler')}`,
    'bs=4M',
    `count=${mib / 4}`,
    'conv=fsync',
    'status=none',
  ]);
}

/** shop/data (disk, ext4, mounted by db), shop/uploads (volume), web/cache (disk, xfs, mounted by web), web/assets (directory). */
function makeStorage(): void {
  const disk = (project: string, name: string, overrides = {}) =>
    storageWire(ROOT, { project, name, stack: project, ...overrides });
  run(['handle', 'storage', 'converge'], AT.create, disk('shop', 'data', { size_gb: '1' }));
  run(['handle', 'mount', 'converge'], AT.create, mountWire(ROOT, { project: 'shop', stack: 'shop', service: 'db' }));
  run(['handle', 'storage', 'converge'], AT.create, disk('shop', 'uploads', { kind: 'volume', size_gb: '2' }));
  run(['handle', 'storage', 'converge'], AT.create, disk('web', 'cache', { size_gb: '3', filesystem: 'xfs' }));
  run(
    ['handle', 'storage', 'converge'],
    AT.create,
    disk('web', 'assets', { kind: 'directory', size_gb: '', filesystem: '' }),
  );
  run(
    ['handle', 'mount', 'converge'],
    AT.create,
    mountWire(ROOT, { project: 'web', stack: 'web', storage: 'cache', service: 'web', mount_path: '/cache' }),
  );
  run(['handle', 'storage', 'converge'], AT.grow, disk('shop', 'data', { size_gb: '2' }));
  // Some data in the mounted disks, so the usage bars show something (allocated at once, nothing written).
  fill(mountWire(ROOT, { project: 'shop', service: 'db' }).host_path, 200);
  fill(mountWire(ROOT, { project: 'web', storage: 'cache', service: 'web', mount_path: '/cache' }).host_path, 1300);
  run(['snapshot', 'create', 'data', '--root', ROOT], AT.snapshot);
  recordEvent(
    { root: ROOT, now: () => new Date(AT.hostile) },
    {
      event: 'refused',
      kind: 'disk',
      project: 'web',
      storage: 'cache',
      message: HOSTILE_MESSAGE,
      reason: HOSTILE_REASON,
    },
  );
}

beforeAll(async () => {
  if (!requireRoot()) return;
  if (fs.existsSync(ROOT))
    throw new Error(`${ROOT} exists: left by an earlier run that was killed; unmount what is under it and remove it`);
  fs.mkdirSync(ROOT, { mode: 0o755 });
  makeStorage();
  dashboard = await startDashboard(CLI, ['--root', ROOT], { HOSTSTORE_NOW: AT.now });
}, 120_000);

afterAll(async () => {
  await dashboard?.stop();
  if (fs.existsSync(ROOT)) cleanupRoot(ROOT);
});

/** Opens `route` and waits until it has loaded, its script included. */
async function open(route: string): Promise<RecordedPage> {
  const recorded = await browser.newPage();
  const response = await recorded.page.goto(`${dashboard!.url}${route}`, { waitUntil: 'networkidle' });
  expect(response?.status()).toBe(200);
  return recorded;
}

/** Nothing went wrong on the page: no console error, page error, failed request or CSP violation. */
async function expectClean(recorded: RecordedPage): Promise<void> {
  expect(await recorded.cspViolations()).toEqual([]);
  expect(recorded.problems).toEqual([]);
}

const visibleNames = (recorded: RecordedPage) =>
  recorded.page.$$eval('#storage tr[data-name]', (rows) =>
    rows.filter((r) => (r as HTMLElement).offsetParent !== null).map((r) => r.getAttribute('data-name')),
  );

it("the overview lists every storage, the root's capacity and the attention list, cleanly; saves docs/dashboard.png", async () => {
  const recorded = await open('/');
  const { page } = recorded;
  expect((await visibleNames(recorded)).sort()).toEqual(['assets', 'cache', 'data', 'uploads']);
  const row = page.locator('#storage tr[data-name="data"]');
  expect(await row.getAttribute('data-kind')).toBe('disk');
  expect(await row.getAttribute('data-project')).toBe('shop');
  expect(await row.getAttribute('data-host')).toBe('local');
  expect(await row.locator('a.storage-link').count()).toBe(1);
  expect(await row.locator('meter.usage').count()).toBe(1);
  // A directory volume has no filesystem of its own to be full.
  expect(await page.locator('#storage tr[data-name="assets"] meter.usage').count()).toBe(0);
  expect(await page.locator('#capacity tr', { hasText: ROOT }).count()).toBe(1);
  expect(await page.locator('#attention').count()).toBe(1);
  expect(await page.locator('input#filter[type="search"]').count()).toBe(1);
  // The dashboard reads the clock hoststore reads (HOSTSTORE_NOW pinned here), so the picture is the same every run.
  const api = (await (await fetch(`${dashboard!.url}/api/overview`)).json()) as { generatedAt: string };
  expect(api.generatedAt).toBe(new Date(AT.now).toISOString());
  expect(await page.locator(`time[datetime="${api.generatedAt}"]`).count()).toBeGreaterThan(0);
  await expectClean(recorded);
  fs.mkdirSync(DOCS, { recursive: true });
  await page.screenshot({ path: path.join(DOCS, 'dashboard.png') });
});

it('typing in the filter narrows the table, a reload keeps the filter, and clearing it shows every row again', async () => {
  const recorded = await open('/');
  const { page } = recorded;
  const showing = (n: number) =>
    page.waitForFunction(
      (count) =>
        Array.from(document.querySelectorAll('#storage tr[data-name]')).filter(
          (r) => (r as HTMLElement).offsetParent !== null,
        ).length === count,
      n,
    );
  await page.locator('#filter').pressSequentially('shop');
  await showing(2);
  expect((await visibleNames(recorded)).sort()).toEqual(['data', 'uploads']);
  // The count says how many of the rows the filter left, for whoever cannot see the table shrink.
  expect(await page.locator('#filter-count').textContent()).toBe('2 of 4 shown');
  await page.locator('#filter').fill('cach');
  await showing(1);
  expect(await visibleNames(recorded)).toEqual(['cache']);
  // The query lives in the address (#...), so a reload or a shared link shows the same rows.
  await page.reload({ waitUntil: 'networkidle' });
  await showing(1);
  expect(await page.locator('#filter').inputValue()).toBe('cach');
  await page.locator('#filter').fill('');
  await showing(4);
  await expectClean(recorded);
});

it('clicking a header sorts the rows by it, and clicking it again reverses them', async () => {
  const recorded = await open('/');
  const { page } = recorded;
  const name = page.locator('#storage th[data-sort="name"]');
  const size = page.locator('#storage th[data-sort="size"]');
  // As served: by name.
  expect(await visibleNames(recorded)).toEqual(['assets', 'cache', 'data', 'uploads']);
  // Sizes sort as sizes (the 3 GB cache after the 2 GB data and uploads), not as text.
  await size.locator('button').click();
  let rows = await visibleNames(recorded);
  expect(rows.indexOf('cache')).toBeGreaterThan(rows.indexOf('data'));
  expect(rows.indexOf('cache')).toBeGreaterThan(rows.indexOf('uploads'));
  expect(await size.getAttribute('aria-sort')).toBe('ascending');
  expect(await name.getAttribute('aria-sort')).toBeNull();
  await size.locator('button').click();
  rows = await visibleNames(recorded);
  expect(rows.indexOf('cache')).toBeLessThan(rows.indexOf('data'));
  expect(await size.getAttribute('aria-sort')).toBe('descending');
  await name.locator('button').click();
  expect(await visibleNames(recorded)).toEqual(['assets', 'cache', 'data', 'uploads']);
  expect(await name.getAttribute('aria-sort')).toBe('ascending');
  await name.locator('button').click();
  expect(await visibleNames(recorded)).toEqual(['uploads', 'data', 'cache', 'assets']);
  expect(await name.getAttribute('aria-sort')).toBe('descending');
  await expectClean(recorded);
});

it('a storage page shows its mounts, lease, snapshots, backups and its history after a grow and a snapshot; saves docs/dashboard-storage.png', async () => {
  const overview = await open('/');
  await overview.page.locator('#storage tr[data-name="data"] a.storage-link').click();
  await overview.page.waitForLoadState('networkidle');
  const { page } = overview;
  expect((await page.locator('h1').textContent())?.trim()).toContain('data');
  for (const section of ['mounts', 'lease', 'snapshots', 'backups'])
    expect(await page.locator(`section#${section}`).count()).toBe(1);
  expect(await page.locator('#mounts').textContent()).toContain('db');
  const events = await page.$$eval('#history li[data-event]', (items) =>
    items.map((i) => i.getAttribute('data-event')),
  );
  // Oldest first: made, mounted, grown, snapshotted.
  expect(events.indexOf('created')).toBeGreaterThanOrEqual(0);
  expect(events.indexOf('grown')).toBeGreaterThan(events.indexOf('created'));
  expect(events.indexOf('snapshot-taken')).toBeGreaterThan(events.indexOf('grown'));
  const grown = page.locator('#history li[data-event="grown"]');
  expect(await grown.textContent()).toMatch(/terraform/);
  expect(await grown.locator('time').getAttribute('datetime')).toBe('2026-11-20T09:05:00.000Z');
  expect(await page.locator('#snapshots').textContent()).toContain('20261120T091000Z');
  await expectClean(overview);
  await page.screenshot({ path: path.join(DOCS, 'dashboard-storage.png'), fullPage: true });
});

it('a hostile journal message shows as text and runs nothing', async () => {
  const recorded = await open('/storage/local/disk/cache?root=' + encodeURIComponent(ROOT) + '&project=web');
  const { page } = recorded;
  const refused = page.locator('#history li[data-event="refused"]');
  expect(await refused.count()).toBe(1);
  const text = (await refused.textContent()) ?? '';
  expect(text).toContain(HOSTILE_MESSAGE);
  expect(text).toContain(HOSTILE_REASON);
  expect(await page.locator('#history img, #history script, #history svg').count()).toBe(0);
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  await expectClean(recorded);
});

it('without script the pages still show everything: every row, a storage page through its link, its history', async () => {
  const recorded = await browser.newPage({ javaScriptEnabled: false });
  const { page } = recorded;
  expect((await page.goto(`${dashboard!.url}/`, { waitUntil: 'networkidle' }))?.status()).toBe(200);
  expect((await visibleNames(recorded)).sort()).toEqual(['assets', 'cache', 'data', 'uploads']);
  await page.locator('#storage tr[data-name="data"] a.storage-link').click();
  await page.waitForLoadState('networkidle');
  expect(await page.locator('#history li[data-event="grown"]').count()).toBe(1);
  await expectClean(recorded);
});

it('the plan page without --app says how to see a plan, cleanly', async () => {
  const recorded = await open('/plan');
  expect(await recorded.page.locator('body').textContent()).toMatch(/--app/);
  await expectClean(recorded);
});
