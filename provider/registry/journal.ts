/**
 * An append-only history of what happened to the storage of a root (`<root>/registry/journal.log`), one
 * JSON line per event (../journal/event.ts). Lines of 0.1 (`<iso> <text>`) stay in the file and are still read.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { registryDir } from './store.js';
import { currentActor } from '../journal/actor.js';
import { JOURNAL_VERSION, type JournalEvent, type NewEvent } from '../journal/event.js';

export function journalPath(root: string): string {
  return path.join(registryDir(root), 'journal.log');
}

/**
 * Appends one event (time from the context's clock, the process's actor unless given) and syncs it.
 * CONTRACT (issue 14): the journal helper makes this rotate by size; callers only ever call this.
 */
export function recordEvent(ctx: { root: string; now: () => Date }, event: NewEvent): void {
  const line: JournalEvent = {
    v: JOURNAL_VERSION,
    time: ctx.now().toISOString(),
    ...event,
    actor: event.actor ?? currentActor(),
  };
  fs.mkdirSync(registryDir(ctx.root), { recursive: true, mode: 0o700 });
  const flags = fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW;
  const fd = fs.openSync(journalPath(ctx.root), flags, 0o600);
  try {
    fs.writeSync(fd, `${JSON.stringify(line)}\n`);
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
