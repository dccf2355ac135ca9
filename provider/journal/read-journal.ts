/**
 * Reads a root's journal back: journal.1.log, journal.2.log, ... then journal.log, each only if it is a
 * regular file owned by root that no one else can write; events in time order, bad lines skipped and counted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StorageKind } from '../../src/schema.js';
import type { JournalEvent } from './event.js';
import { validEvent } from './valid-event.js';
import { legacyEvent } from './legacy-line.js';
import { oneLine } from './one-line.js';
import { rotatedNumbers } from '../registry/journal-rotate.js';

export interface JournalFilter {
  readonly kind?: StorageKind;
  /** A volume's or directory's project; a disk is matched by kind and name whatever its project. */
  readonly project?: string;
  readonly storage?: string;
  /** Events at or after this time. */
  readonly since?: Date;
}

export interface JournalRead {
  readonly events: JournalEvent[];
  /** Lines that are not a valid event (bad JSON, a field breaking its rule, too long, a 0.1 line about no storage). */
  readonly skipped: number;
  /** Journal files not read, one line each (what and why), for the command to warn about on stderr. */
  readonly problems: string[];
}

/** No valid line is longer: two 1,000-character texts and a detail of small fields. */
const MAX_LINE = 16 * 1024;

/** The journal files of a root in the order they were written, oldest first. */
export function journalFiles(root: string): string[] {
  const dir = path.join(root, 'registry');
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const rotated = rotatedNumbers(names).map((n) => path.join(dir, `journal.${n}.log`));
  return names.includes('journal.log') ? [...rotated, path.join(dir, 'journal.log')] : rotated;
}

export function readJournal(root: string, filter: JournalFilter = {}): JournalRead {
  const events: JournalEvent[] = [];
  const problems: string[] = [];
  let skipped = 0;
  const matches = matcher(filter);
  // A line that cannot concern the storage asked for is passed over before it is parsed.
  const quoted = filter.storage === undefined ? undefined : `"${filter.storage}"`;
  // Each file's bytes once, by inode: a journal.log read while live and rotated since reappears as
  // journal.<n>.log, maybe longer; only what it gained is read then.
  const seen = new Map<string, number>();
  const readFile = (file: string) =>
    readTrusted(
      file,
      problems,
      seen,
      (text) => {
        const lines = text.split('\n');
        lines.pop(); // the text ends with a newline
        for (const line of lines) {
          if (line === '') continue;
          if (filter.storage !== undefined && !line.includes(line.charCodeAt(0) === 123 ? quoted! : filter.storage))
            continue;
          const event = line.length > MAX_LINE ? undefined : parseLine(line);
          if (!event) skipped += 1;
          else if (matches(event)) events.push(event);
        }
      },
      () => (skipped += 1),
    );
  // A rotation during a pass renames journal.log: pass again (reading only what is new) until none did.
  let names = journalFiles(root);
  for (let pass = 0; pass < 10; pass += 1) {
    for (const file of names) readFile(file);
    const now = journalFiles(root);
    if (now.length === names.length && now.every((f, i) => f === names[i])) break;
    names = now;
  }
  // Appenders racing a rotation may leave a line in the older file: order by time (a stable sort keeps ties as written).
  if (!isSorted(events)) events.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  // A bad file is named once, however many passes met it.
  return { events, skipped, problems: [...new Set(problems)] };
}

function parseLine(line: string): JournalEvent | undefined {
  if (line.charCodeAt(0) !== 123 /* { */) return legacyEvent(line, oneLine);
  try {
    return validEvent(JSON.parse(line));
  } catch {
    return undefined;
  }
}

/** Whether an event is one `filter` asks for (also used on a remote host's answer, which is not trusted to have filtered). */
export function matcher(filter: JournalFilter): (event: JournalEvent) => boolean {
  const since = filter.since?.toISOString();
  return (e) =>
    (filter.storage === undefined || e.storage === filter.storage) &&
    (filter.kind === undefined || e.kind === filter.kind) &&
    // A 0.1 handler line names no project: it may be any project's.
    (filter.project === undefined ||
      e.kind === 'disk' ||
      e.project === filter.project ||
      (e.actor === 'unknown' && e.project === '')) &&
    (since === undefined || e.time >= since);
}

function isSorted(events: readonly JournalEvent[]): boolean {
  for (let i = 1; i < events.length; i += 1) if (events[i - 1].time > events[i].time) return false;
  return true;
}

/** How much of a journal file is read at once: a file is never held whole (one string holds at most ~512 MiB). */
const CHUNK = 8 * 1024 * 1024;

/**
 * Gives `onText` the file's complete lines not read before (`seen`: bytes read so far by inode), a chunk of
 * whole lines at a time, and calls `onHuge` for each line far longer than any event (dropped as it is read);
 * nothing, with a problem line, when it is not a journal hoststore wrote. A last line without its newline is
 * an append in progress: left for a later pass, neither an event nor damage.
 */
function readTrusted(
  file: string,
  problems: string[],
  seen: Map<string, number>,
  onText: (text: string) => void,
  onHuge: () => void,
): void {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted at the name is refused below, never waited on.
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return; // rotated away between the listing and the open: read under its new name
    problems.push(
      `journal ${file} not read: ${code === 'ELOOP' ? 'it is a symbolic link (never followed)' : (error as Error).message}`,
    );
    return;
  }
  try {
    const stat = fs.fstatSync(fd);
    const why = !stat.isFile()
      ? 'it is not a regular file'
      : stat.uid !== 0
        ? `it is owned by uid ${stat.uid}, not root`
        : (stat.mode & 0o022) !== 0
          ? `others can write it (mode ${(stat.mode & 0o777).toString(8)})`
          : undefined;
    if (why) {
      problems.push(`journal ${file} not read: ${why}; hoststore writes only root-owned files no one else can change`);
      return;
    }
    const inode = `${stat.dev}:${stat.ino}`;
    const from = seen.get(inode) ?? 0;
    if (stat.size <= from) return;
    const chunk = Buffer.allocUnsafe(Math.min(CHUNK, stat.size - from));
    // `carry`: the start of a line not ended yet; `huge`: a line past MAX_LINE is being passed over to its end.
    let carry = Buffer.alloc(0);
    let huge = false;
    let position = from;
    let done = from;
    while (position < stat.size) {
      const n = fs.readSync(fd, chunk, 0, Math.min(chunk.length, stat.size - position), position);
      if (n === 0) break;
      position += n;
      let data = chunk.subarray(0, n);
      if (huge) {
        const newline = data.indexOf(10);
        if (newline < 0) continue;
        onHuge();
        huge = false;
        done = position - n + newline + 1;
        data = data.subarray(newline + 1);
      } else if (carry.length > 0) data = Buffer.concat([carry, data]);
      const end = data.lastIndexOf(10);
      if (end >= 0) {
        onText(data.toString('utf8', 0, end + 1));
        done = position - (data.length - end - 1);
      }
      const rest = data.subarray(end + 1);
      if (rest.length > MAX_LINE * 4) {
        huge = true;
        carry = Buffer.alloc(0);
      } else carry = Buffer.from(rest);
    }
    if (done > from) seen.set(inode, done);
  } finally {
    fs.closeSync(fd);
  }
}

/** One storage's events on one root, oldest first (the dashboard's storage page); a disk's whatever its project. */
export function storageHistory(
  root: string,
  kind: StorageKind,
  project: string,
  name: string,
  since?: Date,
): JournalEvent[] {
  return readJournal(root, { kind, project: kind === 'disk' ? undefined : project, storage: name, since }).events;
}
