/**
 * The dashboard's plan page in a real browser, started with --app on a synthesized app whose host was
 * applied from an earlier version: each pending change is a row with its safety class, and nothing on the
 * page goes wrong.
 */
/// <reference lib="dom" />
import * as fs from 'node:fs';
import { CLI, hoststore } from '../helpers/cli.js';
import { makeHostFixture, requireRoot, type HostFixture } from '../helpers/host-fixture.js';
import { synthModel } from '../helpers/synth-model.js';
import type { AppModel } from '../helpers/cdktf-app.js';
import { useBrowser } from '../helpers/browser.js';
import { startDashboard, type DashboardProcess } from '../helpers/dashboard-process.js';

const it = requireRoot() ? test : test.skip;
const browser = useBrowser();
let host: HostFixture | undefined;
let dashboard: DashboardProcess | undefined;
const outs: string[] = [];

const model = (root: string, pgFilesystem: string, withCache: boolean): AppModel => ({
  stack: 'shop',
  root,
  storage: [
    { id: 'pg', type: 'Disk', props: { name: 'pg', sizeGb: 1, filesystem: pgFilesystem } },
    ...(withCache ? [{ id: 'cache', type: 'Disk' as const, props: { name: 'cache', sizeGb: 1 } }] : []),
  ],
});

beforeAll(async () => {
  if (!requireRoot()) return;
  host = makeHostFixture('hoststore-dashboard-plan-');
  // GIVEN a host applied with pg in ext4, and code that now wants it in xfs (refused: a reformat) and adds cache (safe)
  const applied = synthModel(model(host.root, 'ext4', false));
  outs.push(applied);
  const result = hoststore(['apply', '--app', applied, '--auto-approve']);
  if (result.status !== 0) throw new Error(`apply failed: ${result.stderr}`);
  const pending = synthModel(model(host.root, 'xfs', true));
  outs.push(pending);
  dashboard = await startDashboard(CLI, ['--app', pending]);
}, 120_000);

afterAll(async () => {
  await dashboard?.stop();
  host?.cleanup();
  for (const out of outs) fs.rmSync(out, { recursive: true, force: true });
});

it('the plan page shows each pending change with its safety class, cleanly', async () => {
  const { page, problems, cspViolations } = await browser.newPage();
  const response = await page.goto(`${dashboard!.url}/plan`, { waitUntil: 'networkidle' });
  expect(response?.status()).toBe(200);
  const rows = await page.$$eval('#plan tr[data-safety]', (trs) =>
    trs.map((tr) => ({ safety: tr.getAttribute('data-safety'), text: tr.textContent ?? '' })),
  );
  expect(rows).toEqual(
    expect.arrayContaining([
      { safety: 'refused', text: expect.stringContaining('pg') },
      { safety: 'safe', text: expect.stringContaining('cache') },
    ]),
  );
  // Worst first, as `hoststore plan` orders them.
  expect(rows[0].safety).toBe('refused');
  expect(await cspViolations()).toEqual([]);
  expect(problems).toEqual([]);
});
