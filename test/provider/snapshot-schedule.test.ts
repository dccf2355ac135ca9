/** Schedules and retention as pure functions of an injected clock. */
import { isDue, nextFire, toPrune } from '../../provider/snapshots/schedule.js';

const at = (iso: string) => new Date(iso);
const snap = (id: string, createdAt: string, final = false) => ({ id, createdAt, final });

test('a daily 04:00 UTC schedule is due once it fired since the last run, and only then', () => {
  expect(nextFire('0 4 * * *', at('2026-11-22T03:59:00Z'))?.toISOString()).toBe('2026-11-22T04:00:00.000Z');
  expect(isDue('0 4 * * *', at('2026-11-21T04:00:00Z'), at('2026-11-22T03:59:59Z'))).toBe(false);
  expect(isDue('0 4 * * *', at('2026-11-21T04:00:00Z'), at('2026-11-22T04:00:00Z'))).toBe(true);
  expect(isDue('0 4 * * *', at('2026-11-22T04:00:00Z'), at('2026-11-22T04:00:30Z'))).toBe(false);
});

test('after downtime across several windows it is due (once: the caller takes one catch-up)', () => {
  expect(isDue('0 * * * *', at('2026-11-20T10:00:00Z'), at('2026-11-22T10:30:00Z'))).toBe(true);
});

test('retention by age, by count, and both (every set rule must let a snapshot go)', () => {
  const now = at('2026-11-22T12:00:00Z');
  const snaps = [
    snap('d0', '2026-11-22T04:00:00Z'),
    snap('d1', '2026-11-21T04:00:00Z'),
    snap('d2', '2026-11-20T04:00:00Z'),
    snap('d8', '2026-11-14T04:00:00Z'),
    snap('d9', '2026-11-13T04:00:00Z'),
  ];
  const ids = (xs: Array<{ id: string }>) => xs.map((x) => x.id).sort();
  expect(ids(toPrune(snaps, { retentionDays: 7 }, now))).toEqual(['d8', 'd9']);
  expect(ids(toPrune(snaps, { retentionCount: 2 }, now))).toEqual(['d2', 'd8', 'd9']);
  expect(ids(toPrune(snaps, { retentionDays: 7, retentionCount: 4 }, now))).toEqual(['d9']);
  expect(ids(toPrune(snaps, { retentionDays: 1, retentionCount: 1 }, now))).toEqual(['d1', 'd2', 'd8', 'd9']);
  expect(toPrune(snaps, {}, now)).toEqual([]);
  expect(ids(toPrune([...snaps, snap('last', '2020-01-01T00:00:00Z', true)], { retentionDays: 7 }, now))).toEqual([
    'd8',
    'd9',
  ]);
});
