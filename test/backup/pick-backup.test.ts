/**
 * Which backup a `fromBackup` snapshot id or `latest` names: a prefix that two backups share is refused,
 * never resolved to the older one (attack review: someone who can only add snapshots could grind a prefix).
 */
import { pickBackup, type BackupEntry } from '../../provider/backup/backups.js';
import { BackupError } from '../../provider/backup/restic.js';

const entry = (id: string, time: string): BackupEntry => ({
  id,
  shortId: id.slice(0, 8),
  time,
  host: 'h',
  kind: 'disk',
  project: 'app',
  storage: 'data',
  snapshot: 'data.20261101T040000Z.disk',
  sha256: 'a'.repeat(64),
  checksumMethod: 'extents',
  size: 1,
  path: '/x',
});
const repository = { name: 'offsite', url: '/srv/backups' };
const older = entry(`1234abcd${'0'.repeat(56)}`, '2026-11-01T04:00:00Z');
const newer = entry(`1234abcd${'f'.repeat(56)}`, '2026-11-02T04:00:00Z');
const other = entry(`9999abcd${'0'.repeat(56)}`, '2026-11-03T04:00:00Z');

test('latest is the newest; a full id or a unique prefix names one; a shared prefix is refused', () => {
  expect(pickBackup([older, newer, other], 'latest', repository)).toBe(other);
  expect(pickBackup([older, newer, other], newer.id, repository)).toBe(newer);
  expect(pickBackup([older, newer, other], '9999abcd', repository)).toBe(other);
  expect(pickBackup([older, newer, other], 'deadbeef', repository)).toBeUndefined();
  expect(() => pickBackup([older, newer, other], '1234abcd', repository)).toThrow(BackupError);
  expect(() => pickBackup([older, newer, other], '1234abcd', repository)).toThrow(
    /backup id 1234abcd matches 2 backups in offsite .*give more of the id/,
  );
  expect(pickBackup([], 'latest', repository)).toBeUndefined();
});
