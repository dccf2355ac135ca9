/**
 * Props a construct does not have fail synth with the known names and the close match (from JavaScript,
 * `readonly: true` for `readOnly` was accepted silently and gave a read-write mount).
 */
import { Disk, Mount, SnapshotPolicy, Volume } from '../../src/index.js';
import { errors, synth } from './synth-helpers.js';

// What JavaScript would pass: no compiler to catch the extra key.
const js = <T>(props: object): T => props as T;

test('Mount `readonly` (for readOnly) fails synth naming the known props and the close match', () => {
  const lines = errors((p) => {
    const db = new Volume(p, 'db', { sizeGb: 1 });
    new Mount(p, 'm', js({ storage: db, service: 'web', mountPath: '/data', readonly: true }));
  });
  expect(lines).toEqual([
    '[stack/proj/m] `readonly` is not a prop of Mount; known props: storage, service, mountPath, replicas, readOnly (did you mean `readOnly`?)',
  ]);
});

test.each([
  [
    'Volume',
    (p: any) => new Volume(p, 'db', js({ sizeGb: 1, sizeGB: 2 })),
    'stack/proj/db',
    '`sizeGB` is not a prop of Volume; known props: name, sizeGb, shared, removalPolicy, filesystem, fromSnapshot, fromBackup, type (did you mean `sizeGb`?)',
  ],
  [
    'directory Volume',
    (p: any) => new Volume(p, 'files', js({ type: 'directory', removalpolicy: 'destroy' })),
    'stack/proj/files',
    '`removalpolicy` is not a prop of Volume; known props: name, sizeGb, shared, removalPolicy, filesystem, fromSnapshot, fromBackup, type (did you mean `removalPolicy`?)',
  ],
  [
    'Disk',
    (p: any) => new Disk(p, 'd', js({ name: 'd', fileSystem: 'xfs' })),
    'stack/proj/d',
    '`fileSystem` is not a prop of Disk; known props: name, sizeGb, filesystem, removalPolicy, fromSnapshot, fromBackup (did you mean `filesystem`?)',
  ],
  [
    'SnapshotPolicy',
    (p: any) =>
      new SnapshotPolicy(
        p,
        'nightly',
        js({ storage: new Volume(p, 'db', { sizeGb: 1 }), schedule: '0 4 * * *', retentionDay: 3 }),
      ),
    'stack/proj/nightly',
    '`retentionDay` is not a prop of SnapshotPolicy; known props: storage, schedule, retentionDays, retentionCount, maxFreezeSeconds, replicateTo, remoteRetentionDays, remoteRetentionCount (did you mean `retentionDays`?)',
  ],
  [
    'SnapshotPolicy.daily',
    (p: any) => SnapshotPolicy.daily(p, 'daily', js({ storage: new Volume(p, 'db', { sizeGb: 1 }), hour: 3 })),
    'stack/proj/daily',
    '`hour` is not a prop of SnapshotPolicy.daily; known props: storage, hourUtc, retentionDays, maxFreezeSeconds, replicateTo, remoteRetentionDays, remoteRetentionCount',
  ],
  [
    'SnapshotPolicy.hourly',
    (p: any) =>
      SnapshotPolicy.hourly(p, 'hourly', js({ storage: new Volume(p, 'db', { sizeGb: 1 }), retentionDays: 3 })),
    'stack/proj/hourly',
    '`retentionDays` is not a prop of SnapshotPolicy.hourly; known props: storage, retentionCount, maxFreezeSeconds, replicateTo, remoteRetentionCount',
  ],
])('%s: an unknown prop fails synth', (_name, build, path, message) => {
  expect(errors(build)).toEqual([`[${path}] ${message}`]);
});

test('StorageProject and its nested limits refuse unknown props', () => {
  expect(errors(() => undefined, js({ root: '/srv/hoststore-test', limit: { maxVolumes: 2 } }))).toEqual([
    '[stack/proj] `limit` is not a prop of StorageProject; known props: name, root, limits, carrier, cli, host (did you mean `limits`?)',
  ]);
  expect(errors(() => undefined, js({ limits: { maxVolume: 2, maxVolumeSizeGb: 10 } }))).toEqual([
    '[stack/proj] `limits.maxVolume` is not a prop of StorageProject `limits`; known props: maxVolumes, maxVolumeSizeGb (did you mean `limits.maxVolumes`?)',
  ]);
  expect(errors(() => undefined, js({ limits: 5 }))).toEqual([
    '[stack/proj] `limits` must be an object such as { maxVolumes: 10, maxVolumeSizeGb: 500 } (got 5)',
  ]);
});

test('every known prop is accepted, and a far-off name gets no suggestion', () => {
  expect(() =>
    synth(
      (p) => {
        const db = new Volume(p, 'db', {
          name: 'db',
          sizeGb: 1,
          shared: true,
          removalPolicy: 'retain',
          filesystem: 'ext4',
        });
        new Volume(p, 'files', { name: 'files', type: 'directory', removalPolicy: 'retain' });
        const disk = new Disk(p, 'd', { name: 'd', sizeGb: 1, filesystem: 'xfs', removalPolicy: 'retain' });
        new Mount(p, 'm', { storage: db, service: 'web', mountPath: '/data', replicas: 2, readOnly: true });
        new Mount(p, 'n', { storage: disk, service: 'db', mountPath: '/var/lib/db', replicas: 1, readOnly: false });
        new SnapshotPolicy(p, 'nightly', { storage: db, schedule: '0 4 * * *', retentionDays: 3, retentionCount: 2 });
        SnapshotPolicy.daily(p, 'daily', { storage: disk, hourUtc: 3, retentionDays: 5 });
        SnapshotPolicy.hourly(p, 'hourly', { storage: disk, retentionCount: 5 });
      },
      {
        name: 'app',
        root: '/srv/hoststore-test',
        limits: { maxVolumes: 5, maxVolumeSizeGb: 20 },
        carrier: 'terraform_data',
        cli: '/opt/h/cli.js',
      },
    ),
  ).not.toThrow();
  expect(errors((p) => new Disk(p, 'd', js({ name: 'd', colour: 'blue' })))).toEqual([
    '[stack/proj/d] `colour` is not a prop of Disk; known props: name, sizeGb, filesystem, removalPolicy, fromSnapshot, fromBackup',
  ]);
});
