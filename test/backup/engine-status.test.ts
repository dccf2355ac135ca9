/**
 * `backupStatus` from the registry alone: a replicating policy that never pushed is `behind` with no lag,
 * a newer local snapshot makes it `behind` with the lag between the two, a failed attempt `failing` with
 * its error, and a success after it `in-sync` again.
 */
import { makeContext } from '../../provider/handlers/handler.js';
import type { PolicyRecord } from '../../provider/handlers/snapshot-policy.js';
import type { SnapshotRecord } from '../../provider/snapshots/snapshots.js';
import { BACKUPS, REPOSITORIES, pushKey, repositoryKey, type PushRecord } from '../../provider/backup/records.js';
import { backupStatus } from '../../provider/backup/status.js';
import { makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';

let host: HostFixture;
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(() => host.cleanup());

const policy: PolicyRecord = {
  project: 'app',
  stack: 'test',
  policy: 'nightly',
  storage: 'data',
  storageKind: 'disk',
  schedule: '0 4 * * *',
  updatedAt: '2026-11-01T00:00:00.000Z',
  replicateTo: 'offsite',
};

function snapshot(id: string, createdAt: string): SnapshotRecord {
  return {
    id,
    kind: 'disk',
    project: 'app',
    storage: 'data',
    path: `/x/${id}.img`,
    createdAt,
    trigger: 'schedule',
    method: 'sparse-copy',
    frozenMs: 0,
    sha256: 'a'.repeat(64),
  };
}

test('behind (never pushed), in-sync, behind with lag, failing with its error, in-sync again', () => {
  const ctx = makeContext(host.root, { log: () => undefined });
  ctx.registry.put('policies', 'app_nightly_data', policy);
  ctx.registry.put(REPOSITORIES, repositoryKey('app', 'offsite'), {
    project: 'app',
    name: 'offsite',
    url: '/srv/backups',
    passwordFile: '/etc/hoststore/offsite.pass',
    updatedAt: '2026-11-01T00:00:00.000Z',
  });
  const s1 = snapshot('data.20261101T040000Z.disk', '2026-11-01T04:00:00.000Z');
  ctx.registry.put('snapshots', s1.id, s1);
  // A replicating policy that has not pushed: behind, no lag yet.
  expect(backupStatus(ctx)).toEqual([
    {
      kind: 'disk',
      project: 'app',
      storage: 'data',
      repository: 'offsite',
      url: '/srv/backups',
      state: 'behind',
      lastSnapshot: s1.id,
      lastSnapshotAt: s1.createdAt,
    },
  ]);
  const key = pushKey('disk', 'app', 'data', 'offsite');
  const pushed: PushRecord = {
    storageKind: 'disk',
    project: 'app',
    storage: 'data',
    repository: 'offsite',
    url: '/srv/backups',
    lastPushedSnapshot: s1.id,
    lastPushedSnapshotAt: s1.createdAt,
    lastBackupId: 'b'.repeat(64),
    lastPushedAt: '2026-11-01T04:01:00.000Z',
    bytesAdded: 1000,
    bytesProcessed: 5000,
    lastAttemptAt: '2026-11-01T04:01:00.000Z',
  };
  ctx.registry.put(BACKUPS, key, pushed);
  expect(backupStatus(ctx)).toEqual([expect.objectContaining({ state: 'in-sync', lagSeconds: 0, bytesAdded: 1000 })]);
  // A newer snapshot, not pushed yet: behind by the time between them.
  const s2 = snapshot('data.20261102T040000Z.disk', '2026-11-02T04:00:00.000Z');
  ctx.registry.put('snapshots', s2.id, s2);
  expect(backupStatus(ctx)).toEqual([
    expect.objectContaining({ state: 'behind', lastSnapshot: s2.id, lastPushedSnapshot: s1.id, lagSeconds: 86_400 }),
  ]);
  // Its push failed: failing, with the error, the last success kept.
  const error = 'backup repository offsite (/srv/backups): cannot reach it (Connection refused); check ...';
  ctx.registry.put(BACKUPS, key, { ...pushed, lastAttemptAt: '2026-11-02T04:01:00.000Z', lastError: error });
  expect(backupStatus(ctx)).toEqual([
    expect.objectContaining({ state: 'failing', error, lastPushedSnapshot: s1.id, lagSeconds: 86_400 }),
  ]);
  // The next push caught up.
  ctx.registry.put(BACKUPS, key, {
    ...pushed,
    lastPushedSnapshot: s2.id,
    lastPushedSnapshotAt: s2.createdAt,
    lastPushedAt: '2026-11-02T04:02:00.000Z',
    lastAttemptAt: '2026-11-02T04:02:00.000Z',
  });
  const [row] = backupStatus(ctx);
  expect(row).toMatchObject({ state: 'in-sync', lagSeconds: 0 });
  expect(row.error).toBeUndefined();
});

test('a failed push whose policy was removed is `stopped`, not failing, and no plan check; a push by hand after it counts again (review find)', async () => {
  const { backupChecks } = await import('../../provider/plan/backup-checks.js');
  const { snapshotPolicyHandler } = await import('../../provider/handlers/snapshot-policy.js');
  const saved = process.env.HOSTSTORE_CRON_DIR;
  process.env.HOSTSTORE_CRON_DIR = `${host.root}/cron.d`;
  try {
    const ctx = makeContext(host.root, { log: () => undefined });
    const s1 = snapshot('data.20261101T040000Z.disk', '2026-11-01T04:00:00.000Z');
    ctx.registry.put('snapshots', s1.id, s1);
    ctx.registry.put('policies', 'app_nightly_data', policy);
    const key = pushKey('disk', 'app', 'data', 'offsite');
    const failed: PushRecord = {
      storageKind: 'disk',
      project: 'app',
      storage: 'data',
      repository: 'offsite',
      url: '/srv/backups',
      lastAttemptAt: '2026-11-01T04:01:00.000Z',
      lastError: 'backup repository offsite (/srv/backups): wrong password',
    };
    ctx.registry.put(BACKUPS, key, failed);
    expect(backupStatus(ctx)).toEqual([expect.objectContaining({ state: 'failing' })]);
    // WHEN the policy is removed from the code (its delete runs)
    await snapshotPolicyHandler.delete(ctx, {
      root: host.root,
      project: 'app',
      policy: 'nightly',
      storage: 'data',
      storage_kind: 'disk',
    } as never);
    // THEN nothing will retry it: stopped, no error shown, no plan warning
    const [row] = backupStatus(ctx);
    expect(row).toMatchObject({ state: 'stopped' });
    expect(row.error).toBeUndefined();
    expect(backupChecks(ctx, [])).toEqual([]);
    // AND a push by hand that fails after that is failing again
    ctx.registry.put(BACKUPS, key, {
      ...(ctx.registry.get(BACKUPS, key) as PushRecord),
      lastAttemptAt: '2030-01-01T00:00:00.000Z',
    });
    expect(backupStatus(ctx)).toEqual([expect.objectContaining({ state: 'failing' })]);
    expect(backupChecks(ctx, [])).toHaveLength(1);
  } finally {
    if (saved === undefined) delete process.env.HOSTSTORE_CRON_DIR;
    else process.env.HOSTSTORE_CRON_DIR = saved;
  }
});
