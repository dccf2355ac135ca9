/**
 * A parsed journal line held to the event's shape by hand (typeof checks, sets, the name rules): fast
 * enough for every line of a 16 MiB journal; only the known fields are kept, so nothing else is ever shown.
 */
import { STORAGE_KINDS } from '../../src/schema.js';
import { MAX_TEXT_CHARS } from './one-line.js';
import { ACTORS, EVENT_TYPES, JOURNAL_VERSION, type JournalEvent } from './event.js';

const EVENTS: ReadonlySet<unknown> = new Set(EVENT_TYPES);
const ACTOR_SET: ReadonlySet<unknown> = new Set(ACTORS);
const KINDS: ReadonlySet<unknown> = new Set(STORAGE_KINDS);
/** As toISOString writes it, so times compare as strings. */
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
// The schema's rules (src/schema.ts nameRule, projectNameRule), as patterns tested once per line.
const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const PROJECT = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/;
const MAX_DETAIL_FIELDS = 32;

export const validName = (value: unknown): value is string => typeof value === 'string' && NAME.test(value);
export const validProject = (value: unknown): value is string => typeof value === 'string' && PROJECT.test(value);
const validText = (value: unknown): value is string =>
  typeof value === 'string' && value.length <= MAX_TEXT_CHARS && !CONTROL.test(value);

/** The event `value` holds, or undefined when any field breaks its rule. */
export function validEvent(value: unknown): JournalEvent | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const o = value as Record<string, unknown>;
  if (o.v !== JOURNAL_VERSION) return undefined;
  if (typeof o.time !== 'string' || !TIME.test(o.time) || Number.isNaN(Date.parse(o.time))) return undefined;
  if (!EVENTS.has(o.event) || !KINDS.has(o.kind) || !ACTOR_SET.has(o.actor)) return undefined;
  if (typeof o.project !== 'string' || (o.project !== '' && !PROJECT.test(o.project))) return undefined;
  if (!validName(o.storage) || !validText(o.message)) return undefined;
  if (o.stack !== undefined && !(validText(o.stack) && o.stack.length <= 255)) return undefined;
  if (o.reason !== undefined && !validText(o.reason)) return undefined;
  if (o.detail !== undefined && !validDetail(o.detail)) return undefined;
  return {
    v: JOURNAL_VERSION,
    time: o.time,
    event: o.event as JournalEvent['event'],
    kind: o.kind as JournalEvent['kind'],
    project: o.project,
    ...(o.stack === undefined ? {} : { stack: o.stack }),
    storage: o.storage,
    actor: o.actor as JournalEvent['actor'],
    message: o.message,
    ...(o.reason === undefined ? {} : { reason: o.reason }),
    ...(o.detail === undefined ? {} : { detail: o.detail as JournalEvent['detail'] }),
  };
}

function validDetail(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const entries = Object.entries(value);
  if (entries.length > MAX_DETAIL_FIELDS) return false;
  for (const [key, field] of entries) {
    if (key.length > 64 || CONTROL.test(key)) return false;
    if (typeof field === 'string' ? !validText(field) : typeof field !== 'number' && typeof field !== 'boolean')
      return false;
  }
  return true;
}
