/**
 * The dashboard of an app that reaches remote hosts, against real OpenSSH (test/helpers/sshd.ts): a storage
 * host answers ONE `dashboard` read with its storage (shown under its name), a host that is down is shown
 * with its error, escaped, and the others still are.
 */
import { makeHostFixture, requireRoot, type HostFixture } from '../helpers/host-fixture.js';
import { hoststore } from '../helpers/cli.js';
import { startSshHost, type SshHost } from '../helpers/sshd.js';
import { synthModel } from '../helpers/synth-model.js';
import { listenDashboard, type RunningDashboard } from '../../provider/dashboard/server.js';
import { freePort } from './http-fixture.js';
import * as fs from 'node:fs';

const remoteTest = requireRoot('sshd', 'ssh') ? test : test.skip;
let sshHost: SshHost | undefined;
let server: RunningDashboard | undefined;
let out: string | undefined;

afterEach(async () => {
  await server?.close();
  await sshHost?.stop();
  if (out) fs.rmSync(out, { recursive: true, force: true });
});

remoteTest(
  'a remote host is read over ssh and shown under its name; one that is down shows its error, escaped',
  async () => {
    // GIVEN a storage host with a directory volume on its root (made there by the CLI: the "host" is this machine)
    sshHost = await startSshHost();
    out = synthModel({
      stack: 'far',
      root: sshHost.root,
      storage: [{ id: 'remote-files', type: 'Volume', props: { type: 'directory' } }],
    });
    expect(hoststore(['apply', '--app', out, '--auto-approve']).status).toBe(0);
    const closed = await freePort();
    // WHEN the dashboard shows it beside a host that refuses connections
    server = await listenDashboard(
      {
        source: [
          { name: sshHost.connection.address, connection: sshHost.connection, roots: [sshHost.root] },
          {
            name: 'down<script>x</script>',
            connection: { address: '127.0.0.1', port: closed, user: 'root' },
            roots: ['/srv/hoststore-down'],
          },
        ],
        hostNames: ['127.0.0.1'],
      },
      '127.0.0.1',
      0,
    );
    const rows = (await (await fetch(new URL('/api/storage', server.url))).json()) as Array<Record<string, unknown>>;
    // THEN the remote host's storage is there, labelled with its name
    expect(rows).toEqual([
      expect.objectContaining({ name: 'remote-files', kind: 'directory', host: sshHost.connection.address }),
    ]);
    // Its page's history is read from that host's journal (its `history` read).
    const q = new URLSearchParams({ root: sshHost.root, project: 'app' });
    const detail = (await (
      await fetch(new URL(`/api/storage/${sshHost.connection.address}/directory/remote-files?${q}`, server.url))
    ).json()) as Record<string, any>;
    expect(detail.history).toEqual([
      expect.objectContaining({
        event: 'created',
        storage: 'remote-files',
        host: sshHost.connection.address,
        root: sshHost.root,
      }),
    ]);
    const overview = (await (await fetch(new URL('/api/overview', server.url))).json()) as Record<string, any>;
    const down = overview.hosts.find((h: { host: string }) => h.host.startsWith('down'));
    expect(down.error).toEqual(expect.stringContaining('127.0.0.1'));
    expect(overview.attention[0]).toMatchObject({ what: 'host-unreachable', severity: 'error' });
    const page = await (await fetch(server.url)).text();
    expect(page).toContain('down&lt;script&gt;x&lt;/script&gt;');
    expect(page).not.toContain('<script>x');
    expect(page).toMatch(/<tr data-name="remote-files"[^>]*data-host="127\.0\.0\.\d+"/);
  },
);

remoteTest('a host that answers data of the wrong shape is shown with an error; the page still renders', async () => {
  // GIVEN a host whose hoststore answers a storage row without its fields (another version, or not ours)
  sshHost = await startSshHost();
  fs.writeFileSync(
    `${sshHost.binDir}/hoststore`,
    `#!/bin/sh\ncat >/dev/null\necho 'hoststore remote: request accepted' >&2\necho '{"roots":[],"storage":[{"name":"<i>x</i>","mounts":"no"}],"leases":[],"snapshots":[],"backups":[]}'\n`,
    { mode: 0o755 },
  );
  server = await listenDashboard(
    {
      source: [{ name: 'odd', connection: sshHost.connection, roots: [sshHost.root] }],
      hostNames: ['127.0.0.1'],
    },
    '127.0.0.1',
    0,
  );
  // THEN it is a host that could not be read, named, with why
  const overview = (await (await fetch(new URL('/api/overview', server.url))).json()) as Record<string, any>;
  expect(overview.hosts).toEqual([
    {
      host: 'odd',
      error: 'host odd answered with a storage row of the wrong shape; is its hoststore the same version as this one?',
      roots: [],
    },
  ]);
  const page = await fetch(server.url);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('answered with a storage row of the wrong shape');
});

/**
 * The ssh host's `hoststore` replaced by a shell `script`, and a dashboard of it (named `name`) beside a
 * local root; runs `check` with that root, then removes it.
 */
async function dashboardBesideLocal(
  name: string,
  script: string,
  options: { remoteTimeoutMs?: number },
  check: (local: HostFixture) => Promise<void>,
): Promise<void> {
  fs.writeFileSync(`${sshHost!.binDir}/hoststore`, `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  const local = makeHostFixture(`hoststore-dash-${name}-`);
  try {
    server = await listenDashboard(
      {
        source: [
          { name, connection: sshHost!.connection, roots: [sshHost!.root] },
          { name: 'local', roots: [local.root] },
        ],
        hostNames: ['127.0.0.1'],
        ...options,
      },
      '127.0.0.1',
      0,
    );
    await check(local);
  } finally {
    local.cleanup();
  }
}

remoteTest(
  'a host whose rows pass the outer check but hold a null mount or counts that are not numbers is shown with an error; the overview and /metrics of the other hosts still answer',
  async () => {
    // GIVEN a host whose answer has the listed fields right but a mount that is null and usage counts that are text
    sshHost = await startSshHost();
    const row = { name: 'odd', kind: 'volume', project: 'app', root: '/r', state: 'available', path: '/p' };
    const answer = {
      roots: [],
      storage: [
        { ...row, mounts: [null] },
        { ...row, name: 'odd2', mounts: [], allocatedBytes: 'lots', usage: { sizeBytes: 'x', usedBytes: 'y' } },
      ],
      leases: [],
      snapshots: [],
      backups: [],
    };
    await dashboardBesideLocal(
      'odd',
      `cat >/dev/null\necho 'hoststore remote: request accepted' >&2\necho '${JSON.stringify(answer)}'`,
      {},
      async () => {
        // THEN that host is one that could not be read, and every view still answers
        for (const route of ['/', '/api/overview', '/metrics'])
          expect([route, (await fetch(new URL(route, server!.url))).status]).toEqual([route, 200]);
        const overview = (await (await fetch(new URL('/api/overview', server!.url))).json()) as Record<string, any>;
        expect(overview.hosts[0]).toEqual({
          host: 'odd',
          error: expect.stringContaining('a storage row of the wrong shape'),
          roots: [],
        });
        expect(await (await fetch(new URL('/metrics', server!.url))).text()).toContain(
          'hoststore_host_up{host="odd"} 0',
        );
      },
    );
  },
);

remoteTest(
  "a host's history answer is held to the event's rules and to what was asked: events that break them are left out, and /api/history of the other hosts still answers",
  async () => {
    // GIVEN a host whose `history` read answers events with a time that is a number, a message that is an
    // object, and an event about a storage that was not asked for
    sshHost = await startSshHost();
    const event = { v: 1, event: 'created', kind: 'volume', project: 'app', actor: 'cli', root: sshHost.root };
    const history = [
      { ...event, time: 5, storage: 'shop-pg', message: 'forged' },
      { ...event, time: 6, storage: 'shop-pg', message: { html: '<b>' } },
      { ...event, time: '2026-01-01T00:00:00.000Z', storage: 'someone-else', message: 'not asked for' },
      { ...event, time: '2026-01-01T00:00:00.000Z', storage: 'shop-pg', message: 'another root', root: '/etc' },
      { ...event, time: '2026-01-02T00:00:00.000Z', storage: 'shop-pg', message: 'a real one' },
    ];
    fs.writeFileSync(
      `${sshHost.binDir}/hoststore`,
      `#!/bin/sh\nreq=$(cat)\necho 'hoststore remote: request accepted' >&2\ncase "$req" in *'"history"'*) echo '${JSON.stringify(history)}';; *) echo '{"roots":[],"storage":[],"leases":[],"snapshots":[],"backups":[]}';; esac\n`,
      { mode: 0o755 },
    );
    server = await listenDashboard(
      {
        source: [{ name: 'odd', connection: sshHost.connection, roots: [sshHost.root] }],
        hostNames: ['127.0.0.1'],
      },
      '127.0.0.1',
      0,
    );
    // WHEN its history of shop-pg is asked for
    const answer = await fetch(new URL('/api/history?storage=shop-pg', server.url));
    // THEN only the event that keeps the rules and is about shop-pg is there
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual([
      expect.objectContaining({ storage: 'shop-pg', message: 'a real one', host: 'odd', root: sshHost.root }),
    ]);
  },
);

remoteTest(
  'a host that accepts the request but never answers (its hoststore stuck) is shown as not answering in time; the other hosts still are',
  async () => {
    // GIVEN a host whose hoststore hangs after accepting the request, beside a local root
    sshHost = await startSshHost();
    await dashboardBesideLocal(
      'stuck',
      `cat >/dev/null\necho 'hoststore remote: request accepted' >&2\nexec sleep 60`,
      { remoteTimeoutMs: 2000 },
      async (local) => {
        // WHEN the overview, the storage and the history are asked for
        const started = Date.now();
        const get = (route: string) => fetch(new URL(route, server!.url), { signal: AbortSignal.timeout(15_000) });
        const overview = (await (await get('/api/overview')).json()) as Record<string, any>;
        expect((await get('/api/history')).status).toBe(200);
        // THEN each answers within the host's time, with that host named as not answering
        expect(Date.now() - started).toBeLessThan(12_000);
        expect(overview.hosts).toEqual([
          { host: 'stuck', error: expect.stringContaining('did not answer within 2 s'), roots: [] },
          { host: 'local', roots: [expect.objectContaining({ root: local.root })] },
        ]);
      },
    );
  },
);
