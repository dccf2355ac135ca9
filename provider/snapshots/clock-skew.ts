/**
 * A policy whose schedule starts in the future: the clock was ahead when it last ran (or was created)
 * and has come back. Its schedule would not fire until the clock caught up, so it is reported and
 * restarted from now by run-due, and shown by the plan's host checks.
 */
import type { PolicyRecord } from '../handlers/snapshot-policy.js';

/** When the policy's schedule counts from: its last run, else when it was recorded. */
export function scheduleStart(policy: PolicyRecord): Date {
  return new Date(policy.lastRunAt ?? policy.createdAt ?? policy.updatedAt);
}

/** The problem, in one line without the remedy, when the policy's schedule starts after `now`. */
export function futureStart(policy: PolicyRecord, now: Date): string | undefined {
  const start = scheduleStart(policy);
  if (!(start.getTime() > now.getTime())) return undefined;
  return `snapshot policy ${policy.policy} of ${policy.storageKind} ${policy.storage}: its last run ${start.toISOString()} lies in the future (now ${now.toISOString()}): the clock moved back`;
}
