/**
 * An append-only history of what happened to the storage of a root (`<root>/registry/journal.log`), one
 * JSON line per event (../journal/event.ts). Lines of 0.1 (`<iso> <text>`) stay in the file and are still read.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { registryDir } from './store.js';
import { currentActor } from '../journal/actor.js';
import { JOURNAL_VERSION, type JournalEvent, type NewEvent } from '../journal/event.js';
import { rotateJournal } from './journal-rotate.js';
import { HoststoreError } from '../errors.js';
import { oneLine } from '../journal/one-line.js';

export { MAX_TEXT_CHARS, oneLine } from '../journal/one-line.js';

/** Past this size (after an append) journal.log is moved to journal.<n>.log; `HOSTSTORE_JOURNAL_ROTATE_BYTES` overrides it. */
export const JOURNAL_ROTATE_BYTES = 16 * 1024 * 1024;

export function journalPath(root: string): string {
  return path.join(registryDir(root), 'journal.log');
}

/**
 * Appends one event (time from the context's clock, the process's actor unless given), syncs it, and
 * rotates the journal when it has grown past the limit. Callers only ever call this.
 */
export function recordEvent(ctx: { root: string; now: () => Date }, event: NewEvent): void {
  const line: JournalEvent = {
    v: JOURNAL_VERSION,
    time: ctx.now().toISOString(),
    ...event,
    message: oneLine(event.message),
    ...(event.reason === undefined ? {} : { reason: oneLine(event.reason) }),
    actor: event.actor ?? currentActor(),
    // Its texts as the reader takes them (one line, capped): a longer one would make the whole line unreadable.
    ...(event.detail === undefined
      ? {}
      : {
          detail: Object.fromEntries(
            Object.entries(event.detail).map(([key, value]) => [
              key,
              typeof value === 'string' ? oneLine(value) : value,
            ]),
          ),
        }),
  };
  fs.mkdirSync(registryDir(ctx.root), { recursive: true, mode: 0o700 });
  const file = journalPath(ctx.root);
  const size = append(file, `${JSON.stringify(line)}\n`);
  if (size > rotateLimit()) rotateJournal(registryDir(ctx.root), rotateLimit());
}

/** Appends and syncs `text`; returns the file's size after it. Never through a symlink, never into a FIFO or device. */
function append(file: string, text: string): number {
  // O_NONBLOCK: a FIFO planted at the name fails the open (no reader) rather than block the command forever.
  const flags =
    fs.constants.O_WRONLY |
    fs.constants.O_APPEND |
    fs.constants.O_CREAT |
    fs.constants.O_NOFOLLOW |
    fs.constants.O_NONBLOCK;
  let fd: number;
  try {
    fd = fs.openSync(file, flags, 0o600);
  } catch (error) {
    throw notAJournal(file, error);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw notAJournal(file);
    fs.writeSync(fd, text);
    fs.fdatasyncSync(fd);
    return fs.fstatSync(fd).size;
  } finally {
    fs.closeSync(fd);
  }
}

function notAJournal(file: string, error?: unknown): Error {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (error !== undefined && code !== 'ELOOP' && code !== 'ENXIO' && code !== 'EISDIR') return error as Error;
  const what = code === 'ELOOP' ? 'a symbolic link' : 'not a regular file';
  return new HoststoreError(
    `the journal ${file} is ${what}, which hoststore never makes; the event was not written (hoststore never writes through one). Move it aside and run again`,
  );
}

/** The rotation limit: HOSTSTORE_JOURNAL_ROTATE_BYTES when a positive whole number, else 16 MiB. */
export function rotateLimit(): number {
  const fromEnv = Number(process.env.HOSTSTORE_JOURNAL_ROTATE_BYTES);
  return Number.isSafeInteger(fromEnv) && fromEnv > 0 ? fromEnv : JOURNAL_ROTATE_BYTES;
}
