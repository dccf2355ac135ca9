/**
 * The journal writer: one line per event (message and reason one line, capped), rotated by size into
 * journal.<n>.log without ever overwriting or following a file it did not make.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { journalPath, recordEvent } from '../../provider/registry/journal.js';
import type { NewEvent } from '../../provider/journal/event.js';

const DIST_JOURNAL = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../dist/provider/registry/journal.js',
);

let root: string;
let registry: string;
const saved = process.env.HOSTSTORE_JOURNAL_ROTATE_BYTES;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-journal-'));
  registry = path.join(root, 'registry');
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
  if (saved === undefined) delete process.env.HOSTSTORE_JOURNAL_ROTATE_BYTES;
  else process.env.HOSTSTORE_JOURNAL_ROTATE_BYTES = saved;
});

const ctx = (time = '2026-01-02T03:04:05.000Z') => ({ root, now: () => new Date(time) });
const event = (message: string, extra: Partial<NewEvent> = {}): NewEvent => ({
  event: 'created',
  kind: 'volume',
  project: 'shop',
  storage: 'db',
  message,
  ...extra,
});
const linesOf = (file: string) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
const journalFiles = () =>
  fs
    .readdirSync(registry)
    .filter((f) => /^journal(\.\d+)?\.log$/.test(f))
    .sort();

test('message and reason are one line, at most 1,000 characters', () => {
  recordEvent(ctx(), event('line one\nline two\r\nthree', { event: 'refused', reason: `why\n${'x'.repeat(5000)}` }));
  const [line] = linesOf(journalPath(root));
  const written = JSON.parse(line);
  expect(written.message).toBe('line one line two three');
  expect(written.reason).not.toMatch(/\n/);
  expect(written.reason.length).toBeLessThanOrEqual(1000);
  expect(written.reason.startsWith('why x')).toBe(true);
  expect(written).toMatchObject({ v: 1, time: '2026-01-02T03:04:05.000Z', actor: 'cli', event: 'refused' });
});

test("a detail text is held to the reader's rules too (one line, capped), so the event is still read back", async () => {
  // GIVEN a retention that forgot 120 backups (their short ids in one detail: over 1,000 characters)
  const backups = Array.from({ length: 120 }, (_, i) => i.toString(16).padStart(8, '0')).join(' ');
  recordEvent(
    ctx(),
    event('remote retention forgot 120 backup(s)', { event: 'backups-pruned', detail: { backups, note: 'a\nb' } }),
  );
  // WHEN read back THEN it is an event, its detail cut to 1,000 characters and on one line, nothing skipped
  const { readJournal } = await import('../../provider/journal/read-journal.js');
  const read = readJournal(root);
  expect(read.skipped).toBe(0);
  expect(read.events).toHaveLength(1);
  const detail = read.events[0].detail as Record<string, string>;
  expect(detail.backups.length).toBeLessThanOrEqual(1000);
  expect(backups.startsWith(detail.backups.slice(0, -1))).toBe(true);
  expect(detail.note).toBe('a b');
});

test('over the limit, journal.log moves to journal.<n>.log (n = 1 + highest), never overwriting one', () => {
  process.env.HOSTSTORE_JOURNAL_ROTATE_BYTES = '600';
  for (let i = 0; i < 12; i += 1) recordEvent(ctx(), event(`event ${i} ${'.'.repeat(100)}`));
  const files = journalFiles();
  expect(files.length).toBeGreaterThanOrEqual(3);
  // Every line kept, none twice, in the order written (rotated files ascending, then journal.log).
  const ordered = [
    ...files.filter((f) => f !== 'journal.log').sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1])),
    ...(files.includes('journal.log') ? ['journal.log'] : []),
  ];
  const messages = ordered.flatMap((f) => linesOf(path.join(registry, f)).map((l) => JSON.parse(l).message));
  expect(messages.map((m: string) => m.split(' ')[1])).toEqual(Array.from({ length: 12 }, (_, i) => String(i)));
  // A gap (journal.7.log planted) is skipped past, not filled in or overwritten.
  const seven = path.join(registry, 'journal.7.log');
  fs.writeFileSync(seven, 'kept\n', { mode: 0o600 });
  for (let i = 0; i < 6; i += 1) recordEvent(ctx(), event(`more ${i} ${'.'.repeat(100)}`));
  expect(fs.readFileSync(seven, 'utf8')).toBe('kept\n');
  expect(fs.existsSync(path.join(registry, 'journal.8.log'))).toBe(true);
  // No rotate lock left behind.
  expect(fs.readdirSync(registry).filter((f) => f.includes('lock'))).toEqual([]);
});

test('a stale rotate lock (its process gone) is broken; a live one only delays the rotation', () => {
  process.env.HOSTSTORE_JOURNAL_ROTATE_BYTES = '300';
  fs.mkdirSync(registry, { recursive: true });
  const lock = path.join(registry, 'journal.rotate.lock');
  // A live holder (this process): the append succeeds, the rotation waits for a later append.
  fs.writeFileSync(lock, JSON.stringify({ pid: process.pid, since: new Date().toISOString() }));
  for (let i = 0; i < 4; i += 1) recordEvent(ctx(), event(`held ${i} ${'.'.repeat(100)}`));
  expect(journalFiles()).toEqual(['journal.log']);
  // A dead holder: broken, and the next append rotates.
  fs.writeFileSync(lock, JSON.stringify({ pid: 2 ** 22 + 12345, since: new Date().toISOString() }));
  recordEvent(ctx(), event('after'));
  expect(journalFiles()).toEqual(['journal.1.log']);
  expect(fs.existsSync(lock)).toBe(false);
  // A live holder stuck for 10 minutes (a rotation takes milliseconds): broken too.
  fs.writeFileSync(lock, JSON.stringify({ pid: process.pid, since: '2026-01-01T00:00:00.000Z' }));
  const tenMinutesAgo = new Date(Date.now() - 10 * 60 * 1000);
  fs.utimesSync(lock, tenMinutesAgo, tenMinutesAgo);
  for (let i = 0; i < 2; i += 1) recordEvent(ctx(), event(`stuck ${i} ${'.'.repeat(100)}`));
  expect(journalFiles()).toEqual(['journal.1.log', 'journal.2.log']);
  expect(fs.existsSync(lock)).toBe(false);
});

test('a symlink planted at journal.log is never written through', () => {
  fs.mkdirSync(registry, { recursive: true });
  const target = path.join(root, 'elsewhere');
  fs.writeFileSync(target, 'untouched\n');
  fs.symlinkSync(target, journalPath(root));
  expect(() => recordEvent(ctx(), event('x'))).toThrow(/journal.*symbolic link.*not written/);
  expect(fs.readFileSync(target, 'utf8')).toBe('untouched\n');
  expect(fs.lstatSync(journalPath(root)).isSymbolicLink()).toBe(true);
});

test('a FIFO at journal.log is refused at once (never blocks, never written)', () => {
  fs.mkdirSync(registry, { recursive: true });
  expect(spawnSync('mkfifo', [journalPath(root)]).status).toBe(0);
  expect(() => recordEvent(ctx(), event('x'))).toThrow(/journal.*not a regular file/);
});

test('a symlink planted at a rotated name is neither followed nor replaced: the rotation takes the next number', () => {
  process.env.HOSTSTORE_JOURNAL_ROTATE_BYTES = '300';
  fs.mkdirSync(registry, { recursive: true });
  const target = path.join(root, 'victim');
  fs.writeFileSync(target, 'victim\n');
  fs.symlinkSync(target, path.join(registry, 'journal.1.log'));
  for (let i = 0; i < 4; i += 1) recordEvent(ctx(), event(`e ${i} ${'.'.repeat(100)}`));
  expect(fs.readFileSync(target, 'utf8')).toBe('victim\n');
  expect(fs.lstatSync(path.join(registry, 'journal.1.log')).isSymbolicLink()).toBe(true);
  expect(fs.lstatSync(path.join(registry, 'journal.2.log')).isFile()).toBe(true);
});

test('appenders in 3 processes lose no line, and no rotated file is overwritten', async () => {
  // GIVEN a small limit and 3 processes appending 150 events each at once
  const perProcess = 150;
  const script = `
    import { recordEvent } from ${JSON.stringify(DIST_JOURNAL)};
    const who = process.argv[1];
    for (let i = 0; i < ${perProcess}; i += 1)
      recordEvent({ root: ${JSON.stringify(root)}, now: () => new Date() },
        { event: 'changed', kind: 'disk', project: '', storage: 'scratch', message: who + ' ' + i + ' ' + '.'.repeat(60) });
  `;
  const runs = ['a', 'b', 'c'].map(
    (who) =>
      new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script, who], {
          env: { ...process.env, HOSTSTORE_JOURNAL_ROTATE_BYTES: '4000' },
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        child.on('close', resolve);
      }),
  );
  expect(await Promise.all(runs)).toEqual([0, 0, 0]);
  // THEN every line is in exactly one file, each process's in its order, and several files were made
  const files = journalFiles();
  expect(files.length).toBeGreaterThan(5);
  const all = files.flatMap((f) => linesOf(path.join(registry, f)).map((l) => JSON.parse(l).message as string));
  expect(all).toHaveLength(3 * perProcess);
  for (const who of ['a', 'b', 'c']) {
    const mine = all.filter((m) => m.startsWith(`${who} `)).map((m) => Number(m.split(' ')[1]));
    expect(new Set(mine).size).toBe(perProcess);
  }
  // Rotated files are numbered without gaps from 1 (none overwritten: each rename took a fresh number).
  const numbers = files
    .filter((f) => f !== 'journal.log')
    .map((f) => Number(f.split('.')[1]))
    .sort((a, b) => a - b);
  expect(numbers).toEqual(Array.from({ length: numbers.length }, (_, i) => i + 1));
}, 60_000);
