/**
 * The journal reader on real files in a temporary root: rotated files then journal.log, in time order; only
 * files hoststore could have written are read; bad lines are skipped and counted; 0.1 lines are events.
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { journalPath, recordEvent } from '../../provider/registry/journal.js';
import { readJournal, storageHistory } from '../../provider/journal/read-journal.js';
import type { NewEvent } from '../../provider/journal/event.js';

let root: string;
let registry: string;
const saved = process.env.HOSTSTORE_JOURNAL_ROTATE_BYTES;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-journal-read-'));
  registry = path.join(root, 'registry');
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
  if (saved === undefined) delete process.env.HOSTSTORE_JOURNAL_ROTATE_BYTES;
  else process.env.HOSTSTORE_JOURNAL_ROTATE_BYTES = saved;
});

const at = (minute: number) => ({ root, now: () => new Date(Date.UTC(2026, 0, 2, 3, minute)) });
const event = (message: string, extra: Partial<NewEvent> = {}): NewEvent => ({
  event: 'changed',
  kind: 'volume',
  project: 'shop',
  storage: 'db',
  message,
  ...extra,
});
const good = (minute: number, message: string, extra: Partial<NewEvent> = {}) =>
  JSON.stringify({
    v: 1,
    time: new Date(Date.UTC(2026, 0, 2, 3, minute)).toISOString(),
    actor: 'cli',
    ...event(message, extra),
  });

test('events across 3+ rotated files are all read, oldest first', () => {
  // GIVEN a limit that rotates every few events
  process.env.HOSTSTORE_JOURNAL_ROTATE_BYTES = '500';
  for (let i = 0; i < 20; i += 1) recordEvent(at(i), event(`event ${i} ${'.'.repeat(80)}`));
  const rotated = fs.readdirSync(registry).filter((f) => /^journal\.\d+\.log$/.test(f));
  expect(rotated.length).toBeGreaterThanOrEqual(3);
  // WHEN read THEN all 20, in order, nothing skipped
  const read = readJournal(root);
  expect(read.events.map((e) => e.message.split(' ')[1])).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
  expect(read).toMatchObject({ skipped: 0, problems: [] });
  // journal.10.log sorts after journal.9.log (numbers, not names)
  for (let i = 20; i < 60; i += 1) recordEvent(at(i), event(`event ${i} ${'.'.repeat(80)}`));
  expect(fs.existsSync(path.join(registry, 'journal.10.log'))).toBe(true);
  const all = readJournal(root).events.map((e) => Number(e.message.split(' ')[1]));
  expect(all).toEqual(Array.from({ length: 60 }, (_, i) => i));
});

test('a line in an older file written later (an appender racing a rotation) still reads in time order', () => {
  fs.mkdirSync(registry, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(registry, 'journal.1.log'), `${good(1, 'one')}\n${good(5, 'late')}\n`, { mode: 0o600 });
  fs.writeFileSync(journalPath(root), `${good(2, 'two')}\n${good(2, 'two again')}\n`, { mode: 0o600 });
  expect(readJournal(root).events.map((e) => e.message)).toEqual(['one', 'two', 'two again', 'late']);
});

test('garbage, oversized and ill-formed lines are skipped and counted, never shown', () => {
  fs.mkdirSync(registry, { recursive: true, mode: 0o700 });
  const bad = [
    'not json',
    '{"v":1,',
    '[]',
    'null',
    good(1, 'x', { event: 'exploded' as never }),
    good(1, 'x', { kind: 'tape' as never }),
    good(1, 'x', { storage: '../etc' }),
    good(1, 'x', { project: 'Shop' }),
    good(1, 'line\nbreak'),
    good(1, 'x'.repeat(1001)),
    good(1, 'x', { reason: 'r'.repeat(1001) }),
    good(1, 'x', { detail: { nested: { a: 1 } } as never }),
    JSON.stringify({ ...JSON.parse(good(1, 'x')), actor: 'mallory' }),
    JSON.stringify({ ...JSON.parse(good(1, 'x')), v: 2 }),
    JSON.stringify({ ...JSON.parse(good(1, 'x')), time: 'yesterday' }),
    // Every field within its rule, but longer than any line hoststore writes.
    good(1, 'x', { detail: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}`, 'd'.repeat(1000)])) }),
  ];
  fs.writeFileSync(journalPath(root), [good(0, 'first'), ...bad, good(2, 'last')].join('\n') + '\n', { mode: 0o600 });
  const read = readJournal(root);
  expect(read.events.map((e) => e.message)).toEqual(['first', 'last']);
  expect(read.skipped).toBe(bad.length);
  // Only the event's own fields are kept.
  fs.writeFileSync(journalPath(root), JSON.stringify({ ...JSON.parse(good(0, 'y')), extra: 'hidden' }) + '\n');
  expect(Object.keys(readJournal(root).events[0])).not.toContain('extra');
});

test('a last line without its newline (an append in progress) is neither an event nor counted as damage', () => {
  fs.mkdirSync(registry, { recursive: true, mode: 0o700 });
  const half = good(2, 'half written');
  fs.writeFileSync(journalPath(root), `${good(1, 'whole')}\n${half.slice(0, 40)}`, { mode: 0o600 });
  expect(readJournal(root)).toMatchObject({ skipped: 0, events: [expect.objectContaining({ message: 'whole' })] });
  fs.appendFileSync(journalPath(root), `${half.slice(40)}\n`);
  expect(readJournal(root).events.map((e) => e.message)).toEqual(['whole', 'half written']);
});

test('a journal file larger than a string can hold (a 0.1 journal never rotated) is read; a huge line in it is skipped', () => {
  // GIVEN a journal.log of 600 MB (sparse: a line of NUL bytes past what one string holds), then good lines
  fs.mkdirSync(registry, { mode: 0o700 });
  const file = path.join(registry, 'journal.log');
  fs.writeFileSync(file, `${good(1, 'before')}\n`, { mode: 0o600 });
  fs.truncateSync(file, 600 * 1024 * 1024);
  fs.appendFileSync(file, `\n${good(2, 'after')}\n`);
  // WHEN read THEN both good lines are events and the huge one is skipped, never held whole
  const read = readJournal(root);
  expect(read.events.map((e) => e.message)).toEqual(['before', 'after']);
  expect(read).toMatchObject({ skipped: 1, problems: [] });
  expect(storageHistory(root, 'volume', 'shop', 'db').map((e) => e.message)).toEqual(['before', 'after']);
});

test('a journal file of many chunks loses no line at a chunk boundary', () => {
  // GIVEN 12 MB of events (the reader takes 8 MiB at a time: a line is cut at the boundary)
  fs.mkdirSync(registry, { mode: 0o700 });
  const lines = Array.from({ length: 50_000 }, (_, i) => good(i % 60, `event ${i} ${'.'.repeat(150)}`));
  fs.writeFileSync(path.join(registry, 'journal.log'), `${lines.join('\n')}\n`, { mode: 0o600 });
  // WHEN read THEN every one, nothing skipped
  const read = readJournal(root);
  expect(read.skipped).toBe(0);
  expect(new Set(read.events.map((e) => e.message.split(' ')[1])).size).toBe(50_000);
});

test("0.1's plain-text lines are read as events by actor unknown; lines about no storage are skipped", () => {
  fs.mkdirSync(registry, { recursive: true, mode: 0o700 });
  const lines = [
    '2026-01-02T03:04:05.000Z storage create volume db: size_gb, filesystem',
    '2026-01-02T03:04:06.000Z mount create db -> web[0]:/data: read_only',
    '2026-01-02T03:04:07.000Z volume update shop/db: size_gb',
    '2026-01-02T03:04:08.000Z disk delete scratch',
    '2026-01-02T03:04:09.000Z backup push volume shop/db snapshot 20260102-030400-ab to offsite (sftp://me:secret@h/r): backup 1a2b3c4d, 5 bytes added of 9 processed',
    '2026-01-02T03:04:10.000Z backup push volume shop/db snapshot 20260102-030400-ab to offsite failed: backup repository offsite: unreachable',
    '2026-01-02T03:04:11.000Z backup retention volume shop/db in offsite (sftp://h/r): forgot 1a2b3c4d and pruned',
    '2026-01-02T03:04:12.000Z snapshot-policy create snapshot policy daily of db: schedule',
  ];
  fs.writeFileSync(journalPath(root), lines.join('\n') + '\n', { mode: 0o600 });
  const read = readJournal(root);
  expect(read.events.map((e) => [e.event, e.kind, e.project, e.storage, e.actor])).toEqual([
    ['created', 'volume', '', 'db', 'unknown'],
    ['changed', 'volume', 'shop', 'db', 'unknown'],
    ['deleted', 'disk', '', 'scratch', 'unknown'],
    ['pushed', 'volume', 'shop', 'db', 'unknown'],
    ['push-failed', 'volume', 'shop', 'db', 'unknown'],
    ['backups-pruned', 'volume', 'shop', 'db', 'unknown'],
  ]);
  expect(read.skipped).toBe(2);
  // A password in a repository URL is never shown.
  expect(JSON.stringify(read.events)).not.toContain('secret');
  expect(read.events[0]).toMatchObject({ time: '2026-01-02T03:04:05.000Z', message: lines[0].slice(25) });
});

test('filters: storage, kind, project (a disk whatever its project), since', () => {
  recordEvent(at(1), event('shop db'));
  recordEvent(at(2), event('blog db', { project: 'blog' }));
  recordEvent(at(3), event('scratch disk', { kind: 'disk', project: 'shop', storage: 'scratch' }));
  recordEvent(at(4), event('dir db', { kind: 'directory' }));
  recordEvent(at(5), event('shop db later'));
  const messages = (filter: Parameters<typeof readJournal>[1]) =>
    readJournal(root, filter).events.map((e) => e.message);
  expect(messages({ storage: 'db' })).toEqual(['shop db', 'blog db', 'dir db', 'shop db later']);
  expect(messages({ storage: 'db', project: 'shop', kind: 'volume' })).toEqual(['shop db', 'shop db later']);
  expect(messages({ storage: 'scratch', project: 'other' })).toEqual(['scratch disk']);
  expect(messages({ since: new Date(Date.UTC(2026, 0, 2, 3, 4)) })).toEqual(['dir db', 'shop db later']);
  expect(storageHistory(root, 'volume', 'blog', 'db').map((e) => e.message)).toEqual(['blog db']);
  expect(storageHistory(root, 'disk', 'anything', 'scratch').map((e) => e.message)).toEqual(['scratch disk']);
  // A name that is part of another is not it.
  recordEvent(at(6), event('db2', { storage: 'db2' }));
  expect(messages({ storage: 'db' })).not.toContain('db2');
});

test('no journal yet: no events, nothing skipped', () => {
  expect(readJournal(root)).toEqual({ events: [], skipped: 0, problems: [] });
});

describe('files hoststore could not have written are not read', () => {
  beforeEach(() => {
    recordEvent(at(1), event('real'));
  });

  test('a symlink at journal.log is not followed', () => {
    const elsewhere = path.join(root, 'elsewhere.log');
    fs.renameSync(journalPath(root), elsewhere);
    fs.symlinkSync(elsewhere, journalPath(root));
    const read = readJournal(root);
    expect(read.events).toEqual([]);
    expect(read.problems).toEqual([expect.stringMatching(/journal\.log not read: it is a symbolic link/)]);
  });

  test('a symlink at a rotated name is not followed; the other files are still read', () => {
    const forged = path.join(root, 'forged.log');
    fs.writeFileSync(forged, `${good(0, 'forged')}\n`, { mode: 0o600 });
    fs.symlinkSync(forged, path.join(registry, 'journal.1.log'));
    const read = readJournal(root);
    expect(read.events.map((e) => e.message)).toEqual(['real']);
    expect(read.problems).toEqual([expect.stringMatching(/journal\.1\.log not read: it is a symbolic link/)]);
  });

  test('a file owned by another user is not read', () => {
    fs.writeFileSync(path.join(registry, 'journal.1.log'), `${good(0, 'planted')}\n`, { mode: 0o600 });
    fs.chownSync(path.join(registry, 'journal.1.log'), 65534, 65534);
    const read = readJournal(root);
    expect(read.events.map((e) => e.message)).toEqual(['real']);
    expect(read.problems).toEqual([expect.stringMatching(/journal\.1\.log not read: it is owned by uid 65534/)]);
  });

  test('a group- or other-writable file is not read', () => {
    fs.chmodSync(journalPath(root), 0o620);
    expect(readJournal(root).problems).toEqual([expect.stringMatching(/journal\.log not read: others can write it/)]);
    fs.chmodSync(journalPath(root), 0o602);
    expect(readJournal(root).events).toEqual([]);
    fs.chmodSync(journalPath(root), 0o644);
    expect(readJournal(root).events.map((e) => e.message)).toEqual(['real']);
  });

  test('a directory or FIFO at a journal name is not read (and never waited on)', () => {
    fs.mkdirSync(path.join(registry, 'journal.1.log'));
    fs.rmSync(journalPath(root));
    expect(spawnSync('mkfifo', [journalPath(root)]).status).toBe(0);
    const read = readJournal(root);
    expect(read.events).toEqual([]);
    expect(read.problems).toHaveLength(2);
  });
});

test('reads during rotations (another process appending) never miss an event', async () => {
  // GIVEN a process appending 600 events in order, the journal rotating every few of them
  const journalModule = path.resolve(
    path.dirname(fileURLToPath(import.meta.url)),
    '../../dist/provider/registry/journal.js',
  );
  const script = `
    import { recordEvent } from ${JSON.stringify(journalModule)};
    for (let i = 0; i < 600; i += 1)
      recordEvent({ root: ${JSON.stringify(root)}, now: () => new Date(Date.UTC(2026, 0, 1) + i * 1000) },
        { event: 'changed', kind: 'disk', project: '', storage: 'scratch', message: String(i) });
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, HOSTSTORE_JOURNAL_ROTATE_BYTES: '1500' },
    stdio: 'ignore',
  });
  let done = false;
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => ((done = true), resolve(code))));
  // WHEN it is read over and over meanwhile THEN every read holds events 0..n-1, no gap
  let reads = 0;
  try {
    while (!done) {
      const seen = readJournal(root).events.map((e) => Number(e.message));
      expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i));
      reads += 1;
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    // Never leave it writing into a root the cleanup removes.
    if (!done) child.kill();
    await exited;
  }
  expect(await exited).toBe(0);
  expect(readJournal(root).events).toHaveLength(600);
  expect(reads).toBeGreaterThan(5);
}, 60_000);
