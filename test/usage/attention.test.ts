/**
 * Attention items from built HostData: each rule (its boundary on both sides), the order (errors first,
 * then by consequence), one line each with the command that fixes it, `--root` only when not the default,
 * the host named for a remote one, and values from a host that are not trusted as shell words.
 */
import { attentionItems } from '../../provider/dashboard/attention.js';
import type { HostData, RootSpace, StorageRow } from '../../provider/dashboard/api.js';
import type { LeaseEntry, SnapshotEntry } from '../../provider/commands/read-data.js';
import type { BackupStatusRow } from '../../provider/backup/status.js';
import { DEFAULT_ROOT } from '../../src/schema.js';

const GiB = 1024 ** 3;
const ROOT = '/srv/hs';
const NOW = new Date('2026-11-28T12:00:00Z');
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3600_000).toISOString();

function space(overrides: Partial<RootSpace> = {}): RootSpace {
  return {
    root: ROOT,
    sizeBytes: 100 * GiB,
    freeBytes: 50 * GiB,
    nominalBytes: 10 * GiB,
    allocatedBytes: 1 * GiB,
    overcommit: 0.1,
    storageCount: 1,
    ...overrides,
  };
}

function row(name: string, overrides: Partial<StorageRow> = {}): StorageRow {
  return {
    root: ROOT,
    host: 'local',
    name,
    kind: 'disk',
    project: 'app',
    sizeGb: 10,
    filesystem: 'ext4',
    allocatedBytes: GiB,
    state: 'mounted',
    path: `${ROOT}/disks/${name}.img`,
    mounts: [],
    ...overrides,
  } as StorageRow;
}

function snapshot(id: string, overrides: Partial<SnapshotEntry> = {}): SnapshotEntry {
  return {
    root: ROOT,
    id,
    kind: 'disk',
    project: 'app',
    storage: 'data',
    path: `${ROOT}/snapshots/${id}.img`,
    createdAt: hoursAgo(1),
    trigger: 'manual',
    method: 'sparse-copy',
    frozenMs: 0,
    sha256: 'x',
    state: 'ok',
    intact: true,
    verified: { at: hoursAgo(1), intact: true, identity: {} },
    ...overrides,
  } as SnapshotEntry;
}

function backup(overrides: Partial<BackupStatusRow>): BackupStatusRow & { root: string } {
  return {
    root: ROOT,
    kind: 'disk',
    project: 'app',
    storage: 'data',
    repository: 'offsite',
    state: 'in-sync',
    ...overrides,
  };
}

function lease(overrides: Partial<LeaseEntry> = {}): LeaseEntry {
  return {
    root: ROOT,
    disk: 'data',
    project: 'app',
    service: 'db',
    replica: 1,
    hostPath: `${ROOT}/mnt/app/db/1/data`,
    since: hoursAgo(5),
    stale: false,
    ...overrides,
  };
}

function hostData(overrides: Partial<HostData> = {}): HostData {
  return {
    host: 'local',
    roots: [space()],
    storage: [row('data')],
    leases: [],
    snapshots: [],
    backups: [],
    ...overrides,
  };
}

test('a healthy host needs no attention; a plan without changes is no drift', () => {
  const healthy = hostData({
    leases: [lease()],
    snapshots: [snapshot('s1')],
    backups: [
      backup({ state: 'in-sync', lagSeconds: 0 }),
      backup({ repository: 'b', state: 'behind', lagSeconds: 3600 }),
    ],
  });
  expect(attentionItems([healthy], undefined, NOW)).toEqual([]);
  expect(attentionItems([healthy], { changes: 0, refused: 0, dataLoss: 0 }, NOW)).toEqual([]);
});

test('every rule, errors first then by consequence, one line each with its fix', () => {
  // GIVEN an unreachable host and a local one with something of every kind wrong
  const unreachable: HostData = {
    host: 'storage-2',
    error: 'ssh: connect to host storage-2 port 22:\nConnection refused',
    roots: [],
    storage: [],
    leases: [],
    snapshots: [],
    backups: [],
  };
  const local = hostData({
    roots: [space({ freeBytes: 9.9 * GiB })],
    storage: [
      row('data', {
        mounts: [
          {
            project: 'app',
            service: 'db',
            replica: 1,
            mountPath: '/data',
            hostPath: `${ROOT}/mnt/a`,
            readOnly: false,
            mounted: true,
          },
          {
            project: 'app',
            service: 'db',
            replica: 2,
            mountPath: '/data',
            hostPath: `${ROOT}/mnt/b`,
            readOnly: false,
            mounted: false,
          },
        ],
      }),
      row('gone', { state: 'missing' }),
      row('kept', {
        state: 'retained',
        mounts: [
          {
            project: 'app',
            service: 'x',
            replica: 1,
            mountPath: '/k',
            hostPath: `${ROOT}/mnt/k`,
            readOnly: false,
            mounted: false,
          },
        ],
      }),
    ],
    leases: [lease({ stale: true })],
    snapshots: [
      snapshot('s-changed', { state: 'changed', intact: false }),
      snapshot('s-missing', { state: 'missing', intact: false }),
      snapshot('s-new1', { verified: undefined, checksumPending: true }),
      snapshot('s-new2', { verified: undefined }),
      snapshot('s-ok'),
    ],
    backups: [
      backup({
        state: 'failing',
        error: 'Fatal: unable to open repository\nat sftp:backup@b1',
        lastAttemptAt: hoursAgo(1),
      }),
      backup({ repository: 'r2', state: 'behind', lagSeconds: 2 * 86400, lastPushedAt: hoursAgo(50) }),
      backup({ repository: 'r3', state: 'behind', lastSnapshotAt: hoursAgo(25) }),
      backup({ repository: 'r4', state: 'behind', lastSnapshotAt: hoursAgo(23) }),
    ],
  });
  // WHEN the attention items are computed, with a plan that has changes
  const items = attentionItems([local, unreachable], { changes: 3, refused: 1, dataLoss: 0 }, NOW);
  // THEN
  expect(items.map((i) => `${i.severity} ${i.what} ${i.storage ?? i.root ?? i.host}`)).toEqual([
    'error host-unreachable storage-2',
    `error root-low-space ${ROOT}`,
    'error storage-missing gone',
    'error snapshot-changed data',
    'error snapshot-changed data',
    'error backup-failing data',
    'warning mount-missing data',
    'warning lease-stale data',
    'warning backup-behind data',
    'warning backup-behind data',
    'warning snapshot-unverified data',
    'warning drift local',
  ]);
  for (const item of items) {
    expect(item.message).not.toMatch(/\n/);
    expect(item.message.length).toBeLessThanOrEqual(1000);
  }
  const message = (what: string, n = 0) => items.filter((i) => i.what === what)[n].message;
  expect(message('host-unreachable')).toBe(
    'host storage-2 could not be read: ssh: connect to host storage-2 port 22: Connection refused; check that it is up and reachable over ssh, and that its hoststore is the same version',
  );
  expect(message('root-low-space')).toBe(
    `root ${ROOT}: 9.9 GiB free of 100.0 GiB (under 10 %); images that grow into it will fail to write; free space on it or move storage off it (see hoststore list --root ${ROOT})`,
  );
  expect(message('storage-missing')).toContain(`(hoststore snapshot list gone --root ${ROOT})`);
  expect(message('snapshot-changed')).toBe(
    `disk data: snapshot s-changed no longer matches its checksum (its content changed); do not restore from it; check it with hoststore snapshot list data --verify --root ${ROOT} and delete it with hoststore snapshot delete s-changed --root ${ROOT}`,
  );
  expect(message('snapshot-changed', 1)).toMatch(/^disk data: snapshot s-missing is missing; /);
  expect(message('backup-failing')).toBe(
    `disk data: pushing to offsite fails (last attempt ${hoursAgo(1)}): Fatal: unable to open repository at sftp:backup@b1; fix that, then run hoststore backup push data --repository offsite --root ${ROOT}`,
  );
  expect(message('mount-missing')).toBe(
    `disk data: not mounted at ${ROOT}/mnt/b for app/db replica 2; mount it again with hoststore up --root ${ROOT}`,
  );
  expect(message('lease-stale')).toContain(`run hoststore lease break data --root ${ROOT}`);
  expect(message('backup-behind')).toBe(
    `disk data: its newest snapshot is 2 days newer than the last one pushed to r2 (more than a day behind); run hoststore backup push data --repository r2 --root ${ROOT}`,
  );
  expect(message('backup-behind', 1)).toMatch(
    /^disk data: nothing pushed to r3 yet, 25 hours after its newest snapshot/,
  );
  expect(message('snapshot-unverified')).toBe(
    `disk data: 2 snapshots (newest s-new2) were never verified; verify with hoststore snapshot list data --verify --root ${ROOT}`,
  );
  expect(message('drift')).toBe(
    "the app's hosts differ from its code: the plan has 3 changes, 1 refused; review it with hoststore plan, then apply",
  );
});

test('unverified snapshots: never verified, or marked unverified because their file changed since', () => {
  const at = (...snapshots: SnapshotEntry[]) =>
    attentionItems([hostData({ snapshots })], undefined, NOW).map((i) => `${i.what}: ${i.message}`);
  const changedSince = (id: string) => snapshot(id, { state: 'unverified' as SnapshotEntry['state'], intact: false });
  expect(at(snapshot('a'))).toEqual([]);
  expect(at(changedSince('a'))).toEqual([
    `snapshot-unverified: disk data: snapshot a changed on disk since it was verified (only a hash can tell whether the content did); verify with hoststore snapshot list data --verify --root ${ROOT}`,
  ]);
  expect(at(snapshot('a', { verified: undefined }), changedSince('b'), changedSince('c'))).toEqual([
    `snapshot-unverified: disk data: 3 snapshots (newest c) are unverified: 1 never verified, 2 changed on disk since verified; verify with hoststore snapshot list data --verify --root ${ROOT}`,
  ]);
});

test('root space: under 10 % free is an error; less free than the largest image may still write is a warning', () => {
  const at = (freeGb: number, storage: StorageRow[] = []) =>
    attentionItems([hostData({ roots: [space({ freeBytes: freeGb * GiB })], storage })], undefined, NOW).map(
      (i) => `${i.severity} ${i.what}`,
    );
  expect(at(10)).toEqual([]);
  expect(at(9.99)).toEqual(['error root-low-space']);
  // An image of 40 GB with 1 GiB allocated may still write 39 GiB
  const big = [row('big', { sizeGb: 40, allocatedBytes: GiB })];
  expect(at(39, big)).toEqual([]);
  expect(at(38.9, big)).toEqual(['warning root-low-space']);
  const warning = attentionItems(
    [hostData({ roots: [space({ freeBytes: 20 * GiB })], storage: big })],
    undefined,
    NOW,
  )[0];
  expect(warning.message).toBe(
    `root ${ROOT}: 20.0 GiB free of 100.0 GiB, less than disk big alone may still write (39.0 GiB of its 40 GB not allocated yet); free space on it or move storage off it (see hoststore list --root ${ROOT})`,
  );
});

test('the default root is not named; a remote host is; values from a host are quoted as shell words', () => {
  const remote = hostData({
    host: 'storage-1.internal',
    roots: [space({ root: DEFAULT_ROOT })],
    storage: [],
    leases: [lease({ root: DEFAULT_ROOT, disk: "x'; rm -rf /", stale: true })],
  });
  const [item] = attentionItems([remote], undefined, NOW);
  expect(item.message).toMatch(/run hoststore lease break 'x'\\''; rm -rf \/' on storage-1\.internal$/);
  expect(item).toMatchObject({ host: 'storage-1.internal', root: DEFAULT_ROOT, storage: "x'; rm -rf /" });
  const long = attentionItems([{ ...remote, error: 'e\n'.repeat(2000) }], undefined, NOW)[0];
  expect(long.message.length).toBe(1000);
  expect(long.message).not.toMatch(/\n/);
});

test("a filesystem at 90 % of df's Use% or more needs attention; at 100 % it is an error (reported by a new user: a full volume was not listed)", () => {
  const usage = (usedGiB: number, freeGiB: number) => ({
    sizeBytes: 10 * GiB,
    usedBytes: usedGiB * GiB,
    freeBytes: freeGiB * GiB,
    source: 'mounted' as const,
  });
  // GIVEN three disks: 89 % full, 90 % full (of used + free: a reserve users cannot fill is not room), and full
  const host = hostData({
    storage: [
      row('roomy', { usage: usage(8.9, 1.1) }),
      row('tight', { usage: usage(8.55, 0.95) }),
      row('full', { usage: usage(9.5, 0) }),
    ],
  });
  // WHEN the attention items are computed
  const items = attentionItems([host], undefined, NOW);
  // THEN the full one is an error, the tight one a warning, the roomy one nothing
  expect(items.map((i) => [i.severity, i.what, i.storage])).toEqual([
    ['error', 'filesystem-full', 'full'],
    ['warning', 'filesystem-full', 'tight'],
  ]);
  expect(items[1].message).toBe(
    'disk tight: its filesystem is 90% full (0.9 GiB free of 10.0 GiB, at least 90% needs attention); free space in it, or raise its sizeGb in the code and apply',
  );
});
