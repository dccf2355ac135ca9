/**
 * Lines of 0.1's plain-text journal (`<iso> <text>`) read as events (actor `unknown`), when the storage
 * they concern can be told from the text; anything else (mounts, policies, projects) is not an event here.
 */
import type { StorageKind } from '../../src/schema.js';
import type { EventType, JournalEvent } from './event.js';
import { validName, validProject } from './valid-event.js';

const ISO = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z) (.+)$/;
const KIND = '(volume|directory|disk)';
const NAME = '([A-Za-z0-9][A-Za-z0-9-]*)';
const ACTIONS: Readonly<Record<string, EventType>> = {
  create: 'created',
  adopt: 'adopted',
  update: 'changed',
  delete: 'deleted',
};
/** `storage create volume db: size_gb, filesystem` (the handlers' line: handler kind, action, `KIND NAME`). */
const HANDLER_LINE = new RegExp(`^storage (create|adopt|update|delete) ${KIND} ${NAME}(?::|$)`);
/** `volume create shop/db: size_gb, filesystem`, `disk delete scratch`. */
const KIND_LINE = new RegExp(`^${KIND} (create|adopt|update|delete) (?:([a-z0-9-]*)/)?${NAME}(?::|$)`);
/** `backup push volume shop/db snapshot ID to REPO (URL): ...` or `... to REPO failed: ...` (issue 13). */
const PUSH_LINE = new RegExp(`^backup push ${KIND} ([a-z0-9-]*)/${NAME} snapshot (\\S+) to (\\S+)(.*)$`);
const RETENTION_LINE = new RegExp(`^backup retention ${KIND} ([a-z0-9-]*)/${NAME} in (\\S+)`);
const RESTORE_LINE = new RegExp(
  `^backup restore (\\S+) \\(${KIND} ([a-z0-9-]*)/${NAME}, snapshot (\\S+)\\) from (\\S+) .* as ${KIND} ${NAME}$`,
);
/** A password in a repository URL (`sftp://user:secret@host/...`), which 0.1 lines may hold: never shown. */
const URL_PASSWORD = /([a-z0-9]+:(?:[a-z]+:)?\/\/[^/@:\s]*):[^/@\s]*@/gi;

/** The event a 0.1 line records, or undefined when it is not one (or not about a storage). */
export function legacyEvent(line: string, oneLine: (text: string) => string): JournalEvent | undefined {
  const stamped = ISO.exec(line);
  if (!stamped) return undefined;
  const millis = Date.parse(stamped[1]);
  if (Number.isNaN(millis)) return undefined;
  const text = stamped[2];
  const parsed = parse(text);
  if (!parsed || !validName(parsed.storage) || (parsed.project !== '' && !validProject(parsed.project)))
    return undefined;
  // In the order a written event's fields have, so --json reads the same for both.
  const { detail, ...what } = parsed;
  return {
    v: 1,
    time: new Date(millis).toISOString(),
    ...what,
    actor: 'unknown',
    message: oneLine(text.replace(URL_PASSWORD, '$1:***@')),
    ...(detail ? { detail } : {}),
  };
}

type Parsed = Pick<JournalEvent, 'event' | 'kind' | 'project' | 'storage' | 'detail'>;

function parse(text: string): Parsed | undefined {
  let m = HANDLER_LINE.exec(text);
  if (m) return { event: ACTIONS[m[1]], kind: m[2] as StorageKind, project: '', storage: m[3] };
  m = KIND_LINE.exec(text);
  if (m) return { event: ACTIONS[m[2]], kind: m[1] as StorageKind, project: m[3] ?? '', storage: m[4] };
  m = PUSH_LINE.exec(text);
  if (m)
    return {
      event: m[6].startsWith(' failed: ') ? 'push-failed' : 'pushed',
      kind: m[1] as StorageKind,
      project: m[2],
      storage: m[3],
      detail: { snapshot: m[4], repository: m[5] },
    };
  m = RETENTION_LINE.exec(text);
  if (m)
    return {
      event: 'backups-pruned',
      kind: m[1] as StorageKind,
      project: m[2],
      storage: m[3],
      detail: { repository: m[4] },
    };
  m = RESTORE_LINE.exec(text);
  if (m)
    return {
      event: 'restored',
      kind: m[2] as StorageKind,
      project: m[3],
      storage: m[4],
      detail: { from: 'backup', backup: m[1], snapshot: m[5], repository: m[6], into: m[8] },
    };
  return undefined;
}
