/**
 * The data `hoststore history` shows (and a host's `history` read answers, and the dashboard's /api/history
 * serves): each root's journal events with their root. Apart from the text, so the handler's bundle (which
 * serves a host's reads) carries no table code.
 */
import type { JournalEvent } from '../journal/event.js';
import { readJournal } from '../journal/read-journal.js';

/** An event as `history --json` prints it (and the dashboard's /api/history serves it): with its root (and host). */
export type HistoryEntry = JournalEvent & { readonly root: string; readonly host?: string };

export interface HistoryScope {
  readonly root: string;
  readonly roots?: readonly string[];
  readonly project?: string;
}

/** The events of every root in scope, each root's in time order; `warn` gets the unreadable files and skipped lines. */
export function historyEntries(
  scope: HistoryScope,
  name: string | undefined,
  since: Date | undefined,
  warn: (line: string) => void,
): HistoryEntry[] {
  const roots = scope.roots && scope.roots.length > 0 ? scope.roots : [scope.root];
  return roots.flatMap((root) => {
    const read = readJournal(root, { storage: name, project: scope.project, since });
    for (const problem of read.problems) warn(problem);
    if (read.skipped > 0)
      warn(
        `${read.skipped} line${read.skipped === 1 ? '' : 's'} of the journal under ${root} could not be read as ${read.skipped === 1 ? 'an event' : 'events'} (damaged, or of 0.1 and about no storage): skipped`,
      );
    return read.events.map((e) => ({ ...e, root }));
  });
}
