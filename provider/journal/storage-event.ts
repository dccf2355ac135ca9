/**
 * Recording one event about one storage in its root's journal, as the places where things happen call it:
 * which storage (kind, project, name, stack), what happened, one line to read and small facts.
 */
import type { StorageKind } from '../../src/schema.js';
import { recordEvent } from '../registry/journal.js';
import type { EventType } from './event.js';

/** The storage an event is about: a storage record, or what a spec or snapshot names. */
export interface EventSubject {
  readonly kind: StorageKind;
  readonly project: string;
  readonly storage: string;
  /** The stack on whose behalf it ran, when known (a borrowing stack's delete is that stack's). */
  readonly stack?: string;
}

/** A detail's values as given; undefined ones are left out (the journal holds no undefined). */
export type DetailInput = Readonly<Record<string, string | number | boolean | undefined>>;

const MAX_LINE = 1000;

/** One line of at most 1,000 characters: a reader shows one event per line. */
export function oneLine(text: string): string {
  const line = text.replace(/\s*[\r\n]+\s*/g, ' ');
  return line.length > MAX_LINE ? `${line.slice(0, MAX_LINE - 3)}...` : line;
}

export function recordStorageEvent(
  ctx: { root: string; now: () => Date },
  subject: EventSubject,
  event: Exclude<EventType, 'refused'>,
  message: string,
  detail?: DetailInput,
): void {
  const kept = detail
    ? (Object.fromEntries(Object.entries(detail).filter(([, v]) => v !== undefined)) as Record<
        string,
        string | number | boolean
      >)
    : undefined;
  recordEvent(ctx, {
    event,
    kind: subject.kind,
    project: subject.project,
    ...(subject.stack ? { stack: subject.stack } : {}),
    storage: subject.storage,
    message: oneLine(message),
    ...(kept && Object.keys(kept).length ? { detail: kept } : {}),
  });
}

/** A refused attempt on a known storage: `reason` is the refusal as the user was told it. */
export function recordRefusal(ctx: { root: string; now: () => Date }, subject: EventSubject, reason: string): void {
  const line = oneLine(reason);
  recordEvent(ctx, {
    event: 'refused',
    kind: subject.kind,
    project: subject.project,
    ...(subject.stack ? { stack: subject.stack } : {}),
    storage: subject.storage,
    message: line,
    reason: line,
  });
}

/** The subject of a storage record (its own stack). */
export function subjectOfRecord(record: {
  readonly kind: StorageKind;
  readonly project: string;
  readonly name: string;
  readonly stack?: string;
}): EventSubject {
  return { kind: record.kind, project: record.project, storage: record.name, stack: record.stack || undefined };
}
