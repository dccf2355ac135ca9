/**
 * The journal's record: one event in the life of a storage, written as one JSON line by
 * ../registry/journal.ts and read back by `hoststore history` and the dashboard.
 */
import type { StorageKind } from '../../src/schema.js';

/** What happened. A refused attempt is `refused`, with the refusal in `reason`. */
export const EVENT_TYPES = [
  'created',
  'adopted',
  'grown',
  'changed',
  'mounted',
  'unmounted',
  'lease-taken',
  'lease-released',
  'lease-broken',
  'snapshot-taken',
  'snapshot-verified',
  'snapshot-pruned',
  'restored',
  'pushed',
  'push-failed',
  'backups-pruned',
  'retained',
  'deleted',
  'refused',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * What made it: a `hoststore handle` run by Terraform, `hoststore apply|up|destroy`, another command,
 * `snapshot run-due` from cron; `unknown` only for lines of 0.1's plain-text journal (never written).
 */
export const ACTORS = ['terraform', 'engine', 'cli', 'cron', 'unknown'] as const;
export type Actor = (typeof ACTORS)[number];

/** The journal line's format version (`v`); a line without one is a line of 0.1's plain-text journal. */
export const JOURNAL_VERSION = 1;

/** Small facts about the event, for `--json` and the dashboard's timeline (never a secret, never file content). */
export type EventDetail = Readonly<Record<string, string | number | boolean>>;

export interface JournalEvent {
  readonly v: typeof JOURNAL_VERSION;
  /** ISO 8601 UTC, from the context's clock. */
  readonly time: string;
  readonly event: EventType;
  readonly kind: StorageKind;
  /** The storage's project ('' for a disk nobody manages). */
  readonly project: string;
  /** The stack on whose behalf it ran, when known. */
  readonly stack?: string;
  /** The storage's name: a storage's history is every event with its kind, project and name. */
  readonly storage: string;
  readonly actor: Actor;
  /** One line a person reads: `grown from 10 GB to 20 GB online (downtime 0 s)`. */
  readonly message: string;
  /** Present for `refused`: the refusal, as the user was told it. */
  readonly reason?: string;
  readonly detail?: EventDetail;
}

/** What a caller gives: time, actor and version are filled in by recordEvent. */
export type NewEvent = Omit<JournalEvent, 'v' | 'time' | 'actor'> & { readonly actor?: Actor };
