/**
 * The dashboard over real HTTP, on a real root holding real storage (applied by the engine): every API
 * route's shape (the storage table equal to `list --json`, history to the journal), /metrics, the security
 * headers on every answer (404 too), read-only methods, the Host check, escaping of what a root holds.
 */
import * as fs from 'node:fs';
import { hostTest, requireRoot } from '../helpers/host-fixture.js';
import { hoststore } from '../helpers/cli.js';
import { jest } from '@jest/globals';
import { dashboardApp, listenDashboard, type RunningDashboard } from '../../provider/dashboard/server.js';
import { appendEvent, makeDashboardRoot, SECURITY_HEADERS, type DashboardRoot } from './http-fixture.js';

let fixture: DashboardRoot;
let server: RunningDashboard;
const skip = !requireRoot('mkfs.ext4');

beforeAll(async () => {
  if (skip) return;
  fixture = makeDashboardRoot();
  server = await listenDashboard(
    {
      source: [{ name: 'local', roots: [fixture.host.root] }],
      app: fixture.next,
      hostNames: ['127.0.0.1', 'localhost'],
    },
    '127.0.0.1',
    0,
  );
}, 120_000);

afterAll(async () => {
  await server?.close();
  fixture?.cleanup();
});

const get = (path: string, init?: RequestInit) => fetch(new URL(path, server.url), init);

hostTest('mkfs.ext4')("GET /api/storage is `list --json` with each row's host, backup and last snapshot", async () => {
  const response = await get('/api/storage');
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const rows = (await response.json()) as Array<Record<string, unknown>>;
  const listed = JSON.parse(hoststore(['list', '--json', '--root', fixture.host.root]).stdout) as Array<
    Record<string, unknown>
  >;
  // THEN every row is the list entry, plus host (and lastSnapshotAt where a snapshot was taken)
  expect(rows.map(({ host: _host, lastSnapshotAt: _snapshotAt, backup: _backup, ...entry }) => entry)).toEqual(listed);
  expect(rows.every((r) => r.host === 'local')).toBe(true);
  const pg = rows.find((r) => r.name === 'shop-pg')!;
  expect(pg.lastSnapshotAt).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT/));
  expect(rows.find((r) => r.name === 'files')!.lastSnapshotAt).toBeUndefined();
});

hostTest('mkfs.ext4')('GET /api/overview is OverviewData: hosts with their roots, attention items', async () => {
  // Parsed in another realm than jest's: arrays are checked with Array.isArray, not expect.any(Array).
  const data = (await (await get('/api/overview')).json()) as Record<string, any>;
  expect(data).toEqual({
    generatedAt: expect.stringMatching(/Z$/),
    hosts: [{ host: 'local', roots: expect.anything() }],
    attention: expect.anything(),
  });
  expect(Array.isArray(data.hosts[0].roots) && Array.isArray(data.attention)).toBe(true);
  // The root's capacity: what the images promise against the host filesystem under it.
  expect(data.hosts[0].roots).toEqual([
    expect.objectContaining({ root: fixture.host.root, storageCount: 3, nominalBytes: 2 * 1024 ** 3 }),
  ]);
  // With --app, the pending plan's changes are drift to look at.
  expect(data.attention.map((a: { what: string }) => a.what)).toContain('drift');
});

hostTest('mkfs.ext4')(
  'GET /api/storage/:host/:kind/:name: the row, its snapshots (recorded state), backups and history',
  async () => {
    const q = new URLSearchParams({ root: fixture.host.root, project: 'app' });
    const response = await get(`/api/storage/local/disk/shop-pg?${q}`);
    expect(response.status).toBe(200);
    const detail = (await response.json()) as Record<string, any>;
    expect(detail.storage).toMatchObject({ name: 'shop-pg', kind: 'disk', host: 'local', root: fixture.host.root });
    expect(detail.snapshots).toHaveLength(1);
    expect(['ok', 'unverified']).toContain(detail.snapshots[0].state);
    expect(detail.backups).toEqual([]);
    expect(Array.isArray(detail.history)).toBe(true);
    expect(detail.leases).toEqual([expect.objectContaining({ disk: 'shop-pg', service: 'db', stale: false })]);
  },
);

hostTest('mkfs.ext4')(
  'an unknown storage is 404: JSON { error } for the API, a page otherwise, headers on both',
  async () => {
    const api = await get('/api/storage/local/disk/nope');
    expect(api.status).toBe(404);
    expect(await api.json()).toEqual({ error: expect.stringContaining('"nope"') });
    const page = await get('/storage/local/volume/nope');
    expect(page.status).toBe(404);
    expect(await page.text()).toContain('Not found');
    for (const response of [api, page, await get('/no/such/page'), await get('/api/nothing')])
      expect(Object.fromEntries(Object.keys(SECURITY_HEADERS).map((h) => [h, response.headers.get(h)]))).toEqual(
        SECURITY_HEADERS,
      );
  },
);

hostTest('mkfs.ext4')("GET /api/history: the journal's events with host and root, filtered, oldest first", async () => {
  appendEvent(fixture.host.root, {
    time: '2026-01-01T00:00:00.000Z',
    event: 'grown',
    kind: 'disk',
    project: 'app',
    storage: 'shop-pg',
    message: 'grown from 1 GB to 2 GB',
  });
  const all = (await (await get('/api/history?storage=shop-pg&kind=disk')).json()) as Array<Record<string, unknown>>;
  expect(all[0]).toMatchObject({ event: 'grown', host: 'local', root: fixture.host.root, storage: 'shop-pg' });
  const times = all.map((e) => e.time as string);
  expect(times).toEqual([...times].sort());
  const later = (await (await get('/api/history?storage=shop-pg&since=2026-01-02T00:00:00Z')).json()) as unknown[];
  expect(later.length).toBe(all.length - 1);
  // The same events `hoststore history NAME --json` prints, each with its host.
  const cli = JSON.parse(hoststore(['history', 'shop-pg', '--json', '--root', fixture.host.root]).stdout) as unknown[];
  expect(all).toEqual(cli.map((e) => ({ ...(e as object), host: 'local' })));
  expect(all.map((e) => e.event)).toEqual(expect.arrayContaining(['created', 'mounted', 'snapshot-taken']));
  const bad = await get('/api/history?since=yesterday');
  expect(bad.status).toBe(400);
  expect(await bad.json()).toEqual({
    error: expect.stringMatching(/^since "yesterday": must be a duration back from now \(30m, 24h, 7d, 2w\)/),
  });
  // A duration, as `history --since` takes it: the events of the last hour (not January's).
  const recent = (await (await get('/api/history?storage=shop-pg&since=1h')).json()) as unknown[];
  expect(recent.length).toBe(all.length - 1);
});

hostTest('mkfs.ext4')(
  'GET /api/plan is what `hoststore plan --json` prints; /plan shows each change with data-safety',
  async () => {
    const plan = (await (await get('/api/plan')).json()) as Record<string, any>;
    const cli = JSON.parse(hoststore(['plan', '--app', fixture.next, '--format', 'json']).stdout) as Record<
      string,
      any
    >;
    const strip = (p: Record<string, any>) => ({ ...p, createdAt: undefined });
    expect(strip(plan)).toEqual(strip(cli));
    expect(plan.summary).toMatchObject({ create: 1, update: 1 });
    const page = await (await get('/plan')).text();
    expect(page).toContain('<table id="plan">');
    expect(page).toMatch(
      /<tr data-safety="safe" data-action="create"[^>]*><td><span class="badge good">safe<\/span><\/td><td>create<\/td><td>directory logs<\/td>/,
    );
    expect(page).toMatch(/<tr data-safety="(safe|downtime)" data-action="update"/);
  },
);

hostTest('mkfs.ext4')(
  'GET /metrics: Prometheus text (version 0.0.4) that parses, with the storage and its root',
  async () => {
    const response = await get('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toBe(SECURITY_HEADERS['content-security-policy']);
    const text = await response.text();
    // Every line: a # HELP or # TYPE comment, or NAME{LABELS} VALUE.
    for (const line of text.split('\n').filter(Boolean))
      expect(line).toMatch(/^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? -?[0-9.e+-]+|NaN)$/);
    expect(text).toMatch(
      new RegExp(`^hoststore_storage_size_bytes\\{[^}]*storage="shop-pg"[^}]*\\} ${1024 ** 3}$`, 'm'),
    );
    expect(text).toMatch(
      new RegExp(`^hoststore_root_size_bytes\\{host="local",root="${fixture.host.root}"\\} \\d+$`, 'm'),
    );
  },
);

hostTest('mkfs.ext4')(
  'the overview page keeps the DOM contract: capacity, attention, filter, sortable storage table',
  async () => {
    const response = await get('/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await response.text();
    expect(page).toContain('<section id="capacity">');
    expect(page).toMatch(new RegExp(`<tr data-host="local" data-root="${fixture.host.root}">`));
    // The mounted ext4 disk shows how full it is; the directory volume has no usage bar.
    expect(page).toMatch(/<tr data-name="shop-pg"[\s\S]*?<meter class="usage" min="0" max="\d+" value="\d+"/);
    expect(page).toMatch(/<tr data-name="files"[^]*?<td data-value="-1">-<\/td>/);
    expect(page).toContain('<section id="attention">');
    expect(page).toContain('<input id="filter" type="search"');
    for (const key of ['name', 'kind', 'project', 'size', 'used', 'state', 'backup'])
      expect(page).toMatch(new RegExp(`<th data-sort="${key}"[^>]*><button type="button">`));
    expect(page).toMatch(/<tr data-name="shop-pg" data-kind="disk" data-project="app" data-host="local"/);
    expect(page).toMatch(/<a class="storage-link" href="\/storage\/local\/disk\/shop-pg\?root=/);
    // No inline script or handler anywhere: the one script comes from /assets.
    expect(page).not.toMatch(/<script>|<script [^>]*>[^<]|\son[a-z]+=/);
    const script = await get('/assets/dashboard.js');
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await script.text()).toMatch(/^\(function dashboardClient\(\)|^\(function\(\)|^\(\(\) =>/);
  },
);

hostTest('mkfs.ext4')('the storage page: h1, mounts, lease, snapshots, backups and the history list', async () => {
  const q = new URLSearchParams({ root: fixture.host.root, project: 'app' });
  const page = await (await get(`/storage/local/disk/shop-pg?${q}`)).text();
  expect(page).toContain('<h1>shop-pg</h1>');
  for (const id of ['mounts', 'lease', 'snapshots', 'backups']) expect(page).toContain(`<section id="${id}">`);
  expect(page).toMatch(/<ol id="history">[\s\S]*<li data-event="grown">/);
});

hostTest('mkfs.ext4')('a value from the root is text, never markup: a journal message with <script>', async () => {
  appendEvent(fixture.host.root, {
    event: 'changed',
    kind: 'directory',
    project: 'app',
    storage: 'files',
    message: '<script>alert(1)</script><img src=x onerror=alert(2)>',
  });
  const q = new URLSearchParams({ root: fixture.host.root, project: 'app' });
  const page = await (await get(`/storage/local/directory/files?${q}`)).text();
  expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;');
  expect(page).not.toContain('<script>alert');
});

hostTest('mkfs.ext4')('read-only: POST, PUT, DELETE are 405 with Allow: GET, HEAD; HEAD works', async () => {
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
    const response = await get('/api/storage', { method });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
  }
  expect((await get('/', { method: 'HEAD' })).status).toBe(200);
});

hostTest('mkfs.ext4')('on loopback, a Host that is not its address is refused (DNS rebinding): 403', async () => {
  const { port } = server;
  const ask = (host: string) =>
    new Promise<number>((resolve, reject) => {
      // fetch() will not send a Host of our choosing: a raw request.
      import('node:http').then(({ request }) =>
        request({ host: '127.0.0.1', port, path: '/api/storage', headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        })
          .on('error', reject)
          .end(),
      );
    });
  expect(await ask(`evil.example:${port}`)).toBe(403);
  expect(await ask(`127.0.0.1:${port + 1}`)).toBe(403);
  expect(await ask(`127.0.0.1:${port}`)).toBe(200);
  expect(await ask(`localhost:${port}`)).toBe(200);
});

hostTest('mkfs.ext4')('the dashboard takes no lock: it answers while the root lock is held', async () => {
  const lock = `${fixture.host.root}/registry/lock`;
  fs.writeFileSync(lock, JSON.stringify({ holder: 'a test', pid: process.pid, since: new Date().toISOString() }));
  try {
    const started = Date.now();
    expect((await get('/api/storage')).status).toBe(200);
    expect((await get('/api/plan')).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(5000);
  } finally {
    fs.rmSync(lock, { force: true });
  }
});

test('the app factory answers app.request() too; a failure is 500 as one line, never a stack', async () => {
  // GIVEN a dashboard whose synth output is gone (no server listening: the factory alone)
  const app = dashboardApp({
    source: [{ name: 'local', roots: ['/srv/hoststore-none'] }],
    app: '/nonexistent/cdktf.out',
    hostNames: ['localhost'],
    port: () => 7780,
  });
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const api = await app.request('/api/plan', { headers: { host: 'localhost:7780' } });
    expect(api.status).toBe(500);
    const body = (await api.json()) as { error: string };
    expect(body.error).toContain('/nonexistent/cdktf.out');
    expect(body.error).not.toMatch(/\n|\bat .*\.ts:\d+/);
    expect(api.headers.get('x-content-type-options')).toBe('nosniff');
    const page = await app.request('/plan', { headers: { host: 'localhost:7780' } });
    expect(page.status).toBe(500);
    expect(await page.text()).not.toMatch(/\bat .*\.(ts|js):\d+/);
    // The server's own log: one line per failure.
    expect(stderr.mock.calls.map((c) => String(c[0]))).toEqual([
      expect.stringMatching(/^hoststore dashboard: GET \/api\/plan: [^\n]+\n$/),
      expect.stringMatching(/^hoststore dashboard: GET \/plan: [^\n]+\n$/),
    ]);
  } finally {
    stderr.mockRestore();
  }
});
