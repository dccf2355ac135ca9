/** The journal's JSON lines as written, read directly (not through `hoststore history`'s reader). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { JournalEvent } from '../../provider/journal/event.js';

export function journalEvents(root: string): JournalEvent[] {
  const file = path.join(root, 'registry', 'journal.log');
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as JournalEvent);
}

/** The events of one storage, in order, as `event actor` words (easy to read in a failed expectation). */
export function eventWords(root: string, storage: string): string[] {
  return journalEvents(root)
    .filter((e) => e.storage === storage)
    .map((e) => `${e.event} ${e.actor}`);
}

export function lastEvent(root: string, storage: string, event: string): JournalEvent | undefined {
  return journalEvents(root)
    .filter((e) => e.storage === storage && e.event === event)
    .pop();
}
