/**
 * When snapshots are due and which ones retention lets go. Pure functions of a clock, so tests inject
 * time. Schedules are 5-field cron in UTC; after downtime a missed window yields one catch-up snapshot.
 */
import { Cron } from 'croner';

/** The first fire time of `schedule` strictly after `since`, or undefined when it never fires. */
export function nextFire(schedule: string, since: Date): Date | undefined {
  return new Cron(schedule, { paused: true, timezone: 'UTC' }).nextRun(since) ?? undefined;
}

/** Due when the schedule fired at least once in (since, now]; however many times it fired, one snapshot. */
export function isDue(schedule: string, since: Date, now: Date): boolean {
  const next = nextFire(schedule, since);
  return next !== undefined && next.getTime() <= now.getTime();
}

export interface Retention {
  readonly retentionDays?: number;
  readonly retentionCount?: number;
}

export interface Prunable {
  readonly id: string;
  readonly createdAt: string;
  /** Never pruned: the last copy of storage deleted with removalPolicy 'snapshot'. */
  readonly final?: boolean;
}

/**
 * The snapshots retention lets go. With both rules set, a snapshot goes only when every rule lets it:
 * older than `retentionDays` AND beyond the newest `retentionCount`. The newest one always stays: a clock
 * that jumped ahead makes every snapshot look old, and a policy must never be left with none.
 */
export function toPrune<T extends Prunable>(snapshots: readonly T[], retention: Retention, now: Date): T[] {
  if (retention.retentionDays === undefined && retention.retentionCount === undefined) return [];
  const newestFirst = [...snapshots].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const cutoff =
    retention.retentionDays === undefined ? undefined : now.getTime() - retention.retentionDays * 86_400_000;
  return newestFirst.filter((s, index) => {
    if (s.final || index === 0) return false;
    const oldEnough = cutoff === undefined || Date.parse(s.createdAt) < cutoff;
    const beyondCount = retention.retentionCount === undefined || index >= retention.retentionCount;
    return oldEnough && beyondCount;
  });
}
