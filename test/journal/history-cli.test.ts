/**
 * `hoststore history` as a user runs it (the built CLI) on a real temporary root: text, --json, --since on
 * a pinned clock, a deleted storage's history, unreadable journal files, one-line usage errors, and the
 * `history` read a remote host answers.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { recordEvent } from '../../provider/registry/journal.js';
import { converge, makeContext, remove } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { CONTRACT_VERSION } from '../../src/host-connection.js';
import type { NewEvent } from '../../provider/journal/event.js';
import { CLI, hoststore } from '../helpers/cli.js';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { storageWire } from '../helpers/specs.js';

let host: HostFixture;
beforeEach(() => {
  host = makeHostFixture('hoststore-history-');
});
afterEach(() => host.cleanup());

const at = (iso: string) => ({ root: host.root, now: () => new Date(iso) });
const event = (message: string, extra: Partial<NewEvent> = {}): NewEvent => ({
  event: 'changed',
  kind: 'volume',
  project: 'shop',
  storage: 'db',
  message,
  ...extra,
});
const history = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  hoststore(['history', ...args, '--root', host.root], undefined, { TZ: 'UTC', ...env });

test('text: a table oldest first (refused shows its reason); none: one line saying so', () => {
  recordEvent(at('2026-01-02T03:04:05.678Z'), event('created 10 GB ext4', { event: 'created', actor: 'terraform' }));
  recordEvent(
    at('2026-01-02T04:00:00.000Z'),
    event('grown from 10 GB to 20 GB online', { event: 'grown', actor: 'engine' }),
  );
  recordEvent(
    at('2026-01-02T05:00:00.000Z'),
    event('delete refused', { event: 'refused', reason: 'db is leased by web[0]', actor: 'cli' }),
  );
  recordEvent(at('2026-01-02T06:00:00.000Z'), event('other', { storage: 'cache' }));
  const run = history(['db']);
  expect(run).toMatchObject({ status: 0, stderr: '' });
  expect(run.stdout.split('\n')[0]).toMatch(/^TIME\s+STORAGE\s+EVENT\s+BY\s+WHAT\s*$/);
  expect(run.stdout).toMatch(/2026-01-02T03:04:05\+00:00\s+volume shop\/db\s+created\s+terraform\s+created 10 GB ext4/);
  expect(run.stdout).toMatch(/grown\s+engine\s+grown from 10 GB to 20 GB online/);
  expect(run.stdout).toMatch(/refused\s+cli\s+db is leased by web\[0\]/);
  expect(run.stdout).not.toMatch(/cache/);
  // Every storage without a NAME.
  expect(history([]).stdout).toMatch(/volume shop\/cache/);
  expect(history(['nothing'])).toMatchObject({ status: 0, stdout: `no events for nothing under ${host.root}\n` });
});

test('--json: the events, each with its root (the shape /api/history serves)', () => {
  recordEvent(at('2026-01-02T03:04:05.000Z'), event('grown', { event: 'grown', detail: { fromGb: 10, toGb: 20 } }));
  const run = history(['db', '--json']);
  expect(run.status).toBe(0);
  expect(JSON.parse(run.stdout)).toEqual([
    {
      v: 1,
      time: '2026-01-02T03:04:05.000Z',
      event: 'grown',
      kind: 'volume',
      project: 'shop',
      storage: 'db',
      actor: 'cli',
      message: 'grown',
      detail: { fromGb: 10, toGb: 20 },
      root: host.root,
    },
  ]);
  expect(JSON.parse(history(['nothing', '--json']).stdout)).toEqual([]);
});

test('--since: a duration back from the (pinned) clock, or an ISO date or time', () => {
  for (const day of ['01', '05', '08', '09']) recordEvent(at(`2026-01-${day}T12:00:00.000Z`), event(`day ${day}`));
  const since = (value: string) =>
    (
      JSON.parse(history(['db', '--since', value, '--json'], { HOSTSTORE_NOW: '2026-01-10T00:00:00Z' }).stdout) as {
        message: string;
      }[]
    ).map((e) => e.message);
  expect(since('24h')).toEqual(['day 09']);
  expect(since('2d')).toEqual(['day 08', 'day 09']);
  expect(since('1w')).toEqual(['day 05', 'day 08', 'day 09']);
  expect(since('90m')).toEqual([]);
  expect(since('2026-01-05')).toEqual(['day 05', 'day 08', 'day 09']);
  expect(since('2026-01-08T12:00:00Z')).toEqual(['day 08', 'day 09']);
});

test.each([
  [
    ['db', '--since', 'yesterday'],
    /^hoststore: --since "yesterday": must be a duration back from now \(30m, 24h, 7d, 2w\) or an ISO date/,
  ],
  [['db', '--since', '2026-02-30'], /^hoststore: --since "2026-02-30": must be/],
  [['db', '--since', '-5d'], /^hoststore: --since "-5d": must be/],
  [['db', '--since', '2026-01-02T03:04:05'], /^hoststore: --since "2026-01-02T03:04:05": must be .*with its zone/],
  [['no such'], /^hoststore: history: NAME must contain only letters, digits and hyphens.*\(got "no such"\)/],
  [['db', '--format', 'x'], /^hoststore: unknown option '--format' for history/],
  [['db', 'db2'], /^hoststore: too many arguments for 'history'|^hoststore: .*history/],
])('usage error %j: one line, exit 2, nothing read', (args, message) => {
  const run = history(args);
  expect(run.status).toBe(2);
  expect(run.stdout).toBe('');
  expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(run.stderr).toMatch(message);
});

test('a journal file hoststore could not have written: skipped with one warning line, the rest shown', () => {
  recordEvent(at('2026-01-02T03:04:05.000Z'), event('real'));
  const planted = host.path('planted.log');
  fs.writeFileSync(planted, '{"v":1}\n');
  fs.symlinkSync(planted, host.path('registry', 'journal.1.log'));
  fs.appendFileSync(host.path('registry', 'journal.log'), 'garbage\n');
  const run = history(['--json']);
  expect(run.status).toBe(0);
  expect(JSON.parse(run.stdout).map((e: { message: string }) => e.message)).toEqual(['real']);
  const warnings = run.stderr.trimEnd().split('\n');
  expect(warnings).toEqual([
    expect.stringMatching(/^hoststore: journal .*journal\.1\.log not read: it is a symbolic link \(never followed\)$/),
    expect.stringMatching(/^hoststore: 1 line of the journal under .* could not be read as an event .*: skipped$/),
  ]);
});

hostTest()("a deleted storage's history still shows: the journal outlives the registry", async () => {
  // GIVEN a directory volume created and then deleted (removal policy destroy)
  const ctx = makeContext(host.root, { log: () => undefined });
  const spec = storageHandler.validate(
    storageWire(host.root, {
      kind: 'directory',
      name: 'uploads',
      size_gb: '',
      filesystem: '',
      removal_policy: 'destroy',
    }),
  );
  await converge(storageHandler, ctx, spec);
  await remove(storageHandler, ctx, spec);
  expect(hoststore(['status', 'uploads', '--root', host.root]).status).not.toBe(0);
  // WHEN its history is asked for THEN its creation and deletion are there, in order
  const run = history(['uploads', '--json']);
  expect(run.status).toBe(0);
  const events = (JSON.parse(run.stdout) as { event: string; kind: string; storage: string }[]).map((e) => [
    e.event,
    e.kind,
    e.storage,
  ]);
  expect(events.filter(([what]) => what === 'created' || what === 'deleted')).toEqual([
    ['created', 'directory', 'uploads'],
    ['deleted', 'directory', 'uploads'],
  ]);
});

test("a host's `history` read answers the events as data (what `history` over ssh shows)", () => {
  recordEvent(at('2026-01-02T03:04:05.000Z'), event('one'));
  recordEvent(at('2026-01-03T03:04:05.000Z'), event('two'));
  const request = (fields: object) =>
    spawnSync(process.execPath, [CLI, 'remote'], {
      input: JSON.stringify({
        hoststore: CONTRACT_VERSION,
        command: 'read',
        json: true,
        roots: [host.root],
        ...fields,
      }),
      encoding: 'utf8',
    });
  const run = request({ op: 'history', name: 'db', since: '2026-01-03T00:00:00.000Z' });
  expect(run.status).toBe(0);
  expect(JSON.parse(run.stdout)).toEqual([expect.objectContaining({ message: 'two', root: host.root })]);
  const bad = request({ op: 'history', since: 'soon' });
  expect(bad.status).toBe(2);
  expect(bad.stderr).toMatch(/read request: since must be an ISO time \(got "soon"\)/);
});
