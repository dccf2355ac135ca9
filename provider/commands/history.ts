/**
 * `hoststore history [NAME]`: the events of a root's journal (of one storage, or all), oldest first. It reads
 * the journal, not the registry, so a deleted storage's history still shows.
 */
import type { GlobalOptions } from '../cli/options.js';
import { nameRule } from '../../src/schema.js';
import { UsageError } from '../errors.js';
import { environmentClock, parseIsoTime } from '../clock.js';
import { historyEntries, type HistoryEntry, type HistoryScope } from './history-data.js';
import { perRootText } from './per-root-text.js';
import { printJson, table } from './format.js';

export { historyEntries, type HistoryEntry, type HistoryScope } from './history-data.js';

export function history(name: string | undefined, since: Date | undefined, options: GlobalOptions): number {
  const entries = historyEntries(options, name, since, (line) => process.stderr.write(`hoststore: ${line}\n`));
  if (options.json) printJson(entries);
  else process.stdout.write(`${historyText(entries, rootsOf(options), name)}\n`);
  return 0;
}

const rootsOf = (options: HistoryScope) => (options.roots && options.roots.length > 0 ? options.roots : [options.root]);

export function checkName(name: string | undefined): void {
  const problem = name === undefined ? undefined : nameRule(name);
  if (problem) throw new UsageError(`history: NAME ${problem} (got ${JSON.stringify(name)}); give a storage's name`);
}

const UNITS: Readonly<Record<string, number>> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** `--since`: a duration back from now (30m, 24h, 7d, 2w) or an ISO date (local midnight) or time with its zone. */
export function sinceTime(text: string | undefined, now: () => Date = environmentClock()): Date | undefined {
  if (text === undefined) return undefined;
  const duration = /^([1-9]\d{0,5})([mhdw])$/.exec(text);
  if (duration) return new Date(now().getTime() - Number(duration[1]) * UNITS[duration[2]]);
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (day) {
    const [y, m, d] = day.slice(1).map(Number);
    const at = new Date(y, m - 1, d);
    if (at.getFullYear() === y && at.getMonth() === m - 1 && at.getDate() === d) return at;
  }
  const at = parseIsoTime(text);
  if (at) return at;
  throw new UsageError(
    `--since ${JSON.stringify(text)}: must be a duration back from now (30m, 24h, 7d, 2w) or an ISO date or time with its zone (2026-01-02, 2026-01-02T03:04:05Z)`,
  );
}

/** The history's text: a table per root, `no events for NAME under ROOT` (or `no events under ROOT`) when empty. */
export function historyText(entries: readonly HistoryEntry[], roots: readonly string[], name?: string): string {
  return perRootText(
    roots.map((root) => {
      const events = entries.filter((e) => e.root === root);
      return {
        root,
        text: events.length === 0 ? `no events${name ? ` for ${name}` : ''} under ${root}` : historyTable(events),
      };
    }),
  );
}

function historyTable(events: readonly HistoryEntry[]): string {
  const rows = events.map((e) => [
    localTime(e.time),
    `${e.kind} ${e.project ? `${e.project}/` : ''}${e.storage}`,
    e.event,
    e.actor,
    e.event === 'refused' && e.reason ? e.reason : e.message,
  ]);
  return table(['TIME', 'STORAGE', 'EVENT', 'BY', 'WHAT'], rows);
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `2026-01-02T04:04:05+01:00`: the local time, to the second, with its offset. */
export function localTime(iso: string): string {
  const at = new Date(iso);
  const offset = -at.getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}
