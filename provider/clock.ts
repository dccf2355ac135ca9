/**
 * The clock hoststore reads: the system's, or HOSTSTORE_NOW (an ISO 8601 time) for tests of schedules
 * and retention. An invalid HOSTSTORE_NOW is refused where it is read, never turned into NaN times.
 */
import { SpecError } from './errors.js';

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;

/** The time `text` names, or undefined when it is not an ISO 8601 time with a zone (or names no real day). */
export function parseIsoTime(text: string): Date | undefined {
  const match = ISO_TIME.exec(text);
  if (!match) return undefined;
  const at = new Date(text);
  if (Number.isNaN(at.getTime())) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map((v) => Number(v ?? 0));
  // Date rolls 2026-02-30 over to March; a day that does not exist is a typo, not a time.
  const calendar = new Date(Date.UTC(year, month - 1, day));
  if (calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59)
    return undefined;
  return at;
}

/** A clock for a handler context: HOSTSTORE_NOW pinned (checked now, once), else the system clock. */
export function environmentClock(env: NodeJS.ProcessEnv = process.env): () => Date {
  const pinned = env.HOSTSTORE_NOW;
  if (pinned === undefined || pinned === '') return () => new Date();
  const at = parseIsoTime(pinned);
  if (!at) {
    throw new SpecError(
      `HOSTSTORE_NOW must be an ISO 8601 time such as 2026-11-20T04:00:00Z (got ${JSON.stringify(pinned)}); fix it or unset it to use the system clock`,
    );
  }
  return () => new Date(at.getTime());
}
