/**
 * `npm run bench -- history [rounds]`: `hoststore history NAME` (the built CLI, as a user runs it) on a root whose
 * journal holds 10,000 lines over ~100 storages, one of them with ~100 events, against `node -e` reading the
 * journal file and splitting it into lines; also `history NAME --json`. Interleaved rounds, every round printed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EVENT_TYPES, type JournalEvent } from '../../provider/journal/event.js';
import { interleaved, result, timeIt, type BenchResult } from './measure.js';

/** The CLI beside this module once built (dist/test/bench -> dist/provider). */
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../provider/cli.js');
const LINES = 10_000;
const STORAGES = 100;
const TARGET = 'target';
const TARGET_EVENTS = 100;

/** A journal as a year of deploys writes it: events spread over the storages, the target's among them. */
export function writeJournal(root: string): void {
  const dir = path.join(root, 'registry');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const start = Date.UTC(2026, 0, 1);
  const every = Math.floor(LINES / TARGET_EVENTS);
  const lines: string[] = [];
  for (let i = 0; i < LINES; i += 1) {
    const storage = i % every === 0 ? TARGET : `app-${String(i % (STORAGES - 1)).padStart(3, '0')}`;
    const event = EVENT_TYPES[i % EVENT_TYPES.length];
    const line: JournalEvent = {
      v: 1,
      time: new Date(start + i * 60_000).toISOString(),
      event,
      kind: i % 3 === 0 ? 'disk' : 'volume',
      project: i % 3 === 0 ? '' : 'shop',
      stack: 'production',
      storage,
      actor: i % 2 === 0 ? 'terraform' : 'cron',
      message: `${event} ${storage}: snapshot 20260101-${String(i).padStart(6, '0')} of 20 GB, 1.2 GB allocated, verified`,
      ...(event === 'refused' ? { reason: `${storage} is leased by web[0] since 2026-01-01; release it first` } : {}),
      detail: { snapshot: `20260101-${String(i).padStart(6, '0')}`, fromGb: 10, toGb: 20, online: true },
    };
    lines.push(JSON.stringify(line));
  }
  fs.writeFileSync(path.join(dir, 'journal.log'), `${lines.join('\n')}\n`, { mode: 0o600 });
}

const run = (args: string[]) => () =>
  timeIt(() =>
    execFileSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 }),
  );

export async function historyBench(roundsArg?: string): Promise<BenchResult[]> {
  const rounds = Math.max(1, Number(roundsArg ?? 7) || 7);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-history-bench-'));
  try {
    writeJournal(root);
    const journal = path.join(root, 'registry', 'journal.log');
    const times = await interleaved(rounds, [
      { name: 'history', run: run([CLI, 'history', TARGET, '--root', root]) },
      { name: 'history --json', run: run([CLI, 'history', TARGET, '--root', root, '--json']) },
      {
        name: 'node -e read+split',
        run: run(['-e', `require('fs').readFileSync(${JSON.stringify(journal)}, 'utf8').split('\\n')`]),
      },
    ]);
    for (const t of times)
      process.stdout.write(
        `${t.name}: ${t.times.map((ms) => ms.toFixed(0)).join(' ')} ms (median ${t.median.toFixed(1)})\n`,
      );
    const [text, json, baseline] = times;
    const shown = execFileSync(process.execPath, [CLI, 'history', TARGET, '--root', root, '--json'], {
      encoding: 'utf8',
    });
    process.stdout.write(`history ${TARGET}: ${(JSON.parse(shown) as unknown[]).length} events of ${LINES} lines\n`);
    return [
      result(`history NAME, ${LINES} journal lines`, text.median, baseline.median, 'ms', { max: 2 }),
      result(`history NAME --json, ${LINES} journal lines`, json.median, baseline.median, 'ms', {}),
    ];
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
