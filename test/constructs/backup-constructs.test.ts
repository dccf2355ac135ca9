/**
 * BackupRepository, SnapshotPolicy `replicateTo` / remote retention, and Volume / Disk `fromBackup` (issue
 * 13): each prop's rules at synth (one line, secrets never echoed), the defaults, and the wire fields they
 * render (present only when set).
 */
import { App, TerraformStack, TerraformVariable, Testing } from 'cdktf';
import { Construct } from 'constructs';
import {
  BackupRepository,
  Disk,
  Mount,
  SnapshotPolicy,
  StorageProject,
  Volume,
  type BackupRepositoryProps,
} from '../../src/index.js';
import {
  encodeFromBackup,
  encodeRepository,
  parseFromBackupField,
  parseRepositoryField,
} from '../../src/backup-spec.js';
import { byPath, errors, synth } from './synth-helpers.js';
import { inputOf } from '../helpers/carrier-input.js';

/** From JavaScript any value may arrive: the constructs must report it, not crash. */
const js = <T>(value: unknown): T => value as T;
const PASS = '/etc/hoststore/offsite.pass';
const offsiteProps: BackupRepositoryProps = {
  repository: 'sftp:backup@backup-1.internal:/srv/hoststore',
  passwordFile: PASS,
};
const offsite = (p: StorageProject, props: Partial<BackupRepositoryProps> = {}) =>
  new BackupRepository(p, 'offsite', { ...offsiteProps, ...props });
const input = (json: any, path: string) => inputOf(byPath(json)[path]);

describe('BackupRepository', () => {
  test('renders nothing by itself, and holds its props; its name is its id', () => {
    let repository: BackupRepository | undefined;
    const json = synth((p) => {
      repository = offsite(p, {
        environmentFile: '/etc/hoststore/offsite.env',
        options: { 'sftp.command': 'ssh x -s sftp' },
      });
    });
    expect(Object.keys(byPath(json))).toEqual(['stack/proj/manifest', 'stack/proj/retirement']);
    expect(repository).toMatchObject({
      name: 'offsite',
      repository: 'sftp:backup@backup-1.internal:/srv/hoststore',
      passwordFile: PASS,
      environmentFile: '/etc/hoststore/offsite.env',
      options: { 'sftp.command': 'ssh x -s sftp' },
    });
  });

  test.each([
    '/srv/backups/hoststore',
    'local:/srv/backups',
    'sftp:backup@backup-1.internal:/srv/hoststore',
    'rest:https://backup.internal:8000/hoststore',
    's3:s3.amazonaws.com/bucket/hoststore',
    'b2:bucket:hoststore',
    'rclone:remote:hoststore',
  ])('repository %s is accepted', (repository) => {
    expect(errors((p) => offsite(p, { repository }))).toEqual([]);
  });

  test.each([
    [
      'backups/relative',
      '`repository` must be an absolute path or a restic repository URL starting with local:, sftp:, rest:, s3:, b2:, azure:, gs:, swift:, rclone: (got "backups/relative")',
    ],
    [
      'ftp:host:/x',
      '`repository` must be an absolute path or a restic repository URL starting with local:, sftp:, rest:, s3:, b2:, azure:, gs:, swift:, rclone: (got "ftp:host:/x")',
    ],
    ['', '`repository` must not be empty (got "")'],
    ['local:relative', '`repository` must name an absolute path after local: (got "local:relative")'],
  ])('repository %j is refused in one line', (repository, message) => {
    expect(errors((p) => offsite(p, { repository }))).toEqual([`[stack/proj/offsite] ${message}`]);
  });

  test.each([
    'rest:https://user:hunter2@backup.internal/repo',
    // restic takes the scheme in any case.
    'rest:HTTPS://user:hunter2@backup.internal/repo',
  ])('a URL holding a password is refused without showing it: %s', (repository) => {
    const lines = errors((p) => offsite(p, { repository }));
    expect(lines).toEqual([
      '[stack/proj/offsite] `repository` must not hold a password (user:password@): give credentials in environmentFile, which stays on the host (got a URL holding a password, not shown)',
    ]);
    expect(lines.join('\n')).not.toContain('hunter2');
  });

  test.each(['passwordFile', 'environmentFile'] as const)(
    'the secret itself pasted as %s is refused without echoing it',
    (prop) => {
      const lines = errors((p) => offsite(p, { [prop]: 'hunter2-the-actual-password' }));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(
          `^\\[stack/proj/offsite\\] \`${prop}\` must be the absolute path of a file on the storage host holding the .*never the secret itself \\(got a value that is not a path, not shown: it may be the secret itself\\)$`,
        ),
      );
      expect(lines[0]).not.toContain('hunter2');
    },
  );

  test('a path with shell characters is refused, showing the path', () => {
    expect(errors((p) => offsite(p, { passwordFile: '/etc/hoststore/my pass' }))).toEqual([
      '[stack/proj/offsite] `passwordFile` must be the absolute path of a file on the storage host holding the password (must contain only letters, digits and . _ @ + = - between slashes (no spaces, quotes or shell characters)), never the secret itself (got "/etc/hoststore/my pass")',
    ]);
  });

  test('a token where synth must know the value is refused', () => {
    const lines = errors((p) => {
      const variable = new TerraformVariable(p, 'pass', { type: 'string' });
      offsite(p, { passwordFile: variable.stringValue, repository: variable.stringValue });
    });
    expect(lines).toEqual([
      '[stack/proj/offsite] `repository` must be a literal string at synth (got a token)',
      '[stack/proj/offsite] `passwordFile` must be a literal string at synth (got a token)',
    ]);
  });

  test('the passwordFile is required', () => {
    expect(errors((p) => new BackupRepository(p, 'offsite', js({ repository: '/srv/b' })))).toEqual([
      '[stack/proj/offsite] `passwordFile` must be the absolute path of a file on the storage host holding the password (must be a string), never the secret itself (got undefined)',
    ]);
  });

  test('options: restic extended options only, one line each; values are not echoed', () => {
    expect(
      errors((p) => offsite(p, { options: js({ 'sftp.command': 'ssh -s sftp', Bad: 'x', 's3.region': 5 }) })),
    ).toEqual([
      '[stack/proj/offsite] `options` option "Bad" must be a restic extended option name (backend.option, for example sftp.command)',
      '[stack/proj/offsite] `options` option s3.region must be a string',
    ]);
    expect(errors((p) => offsite(p, { options: js(['x']) }))).toEqual([
      "[stack/proj/offsite] `options` must be an object of restic extended options, such as { 'sftp.command': '...' } (got an array)",
    ]);
  });

  test('an id that is not a name, and an unknown prop, are refused', () => {
    expect(errors((p) => new BackupRepository(p, 'off_site', offsiteProps))).toEqual([
      '[stack/proj/off_site] `id` must contain only letters, digits and hyphens, and start and end with a letter or digit (got "off_site")',
    ]);
    expect(errors((p) => offsite(p, js({ passwordfile: PASS })))[0]).toBe(
      '[stack/proj/offsite] `passwordfile` is not a prop of BackupRepository; known props: repository, passwordFile, environmentFile, options (did you mean `passwordFile`?)',
    );
  });

  test('two repositories of one name in a project are refused (the host finds them by name)', () => {
    const nested = errors((p) => {
      offsite(p);
      new BackupRepository(new Construct(p, 'nested'), 'offsite', offsiteProps);
    });
    expect(nested).toContain(
      "[stack/proj/offsite] backup repository names must be unique in project 'proj' (the name finds it on the host): 'offsite' is also used by stack/proj/nested/offsite",
    );
  });
});

describe('SnapshotPolicy replicateTo', () => {
  test('renders replicate_to (canonical JSON) and the remote retention; default 30 days', () => {
    const json = synth((p) => {
      const v = new Volume(p, 'db', { sizeGb: 1 });
      new SnapshotPolicy(p, 'nightly', {
        storage: v,
        schedule: '0 4 * * *',
        replicateTo: offsite(p, { options: { 'sftp.command': 'ssh b', 'sftp.args': '-v' } }),
      });
    });
    const spec = input(json, 'stack/proj/nightly/identity-1');
    expect(spec.replicate_to).toBe(
      '{"name":"offsite","url":"sftp:backup@backup-1.internal:/srv/hoststore","password_file":"/etc/hoststore/offsite.pass","options":{"sftp.args":"-v","sftp.command":"ssh b"}}',
    );
    expect(parseRepositoryField(spec.replicate_to).value).toEqual({
      name: 'offsite',
      url: 'sftp:backup@backup-1.internal:/srv/hoststore',
      password_file: PASS,
      options: { 'sftp.args': '-v', 'sftp.command': 'ssh b' },
    });
    expect(spec.remote_retention_days).toBe('30');
    expect(spec).not.toHaveProperty('remote_retention_count');
    // The repository is not part of the identity: another one is a setting, not another policy.
    expect(byPath(json)['stack/proj/nightly/identity-1'].triggers_replace).not.toHaveProperty('replicate_to');
  });

  test('defaults: 30 days, or retentionDays when longer; none when only a count is given', () => {
    const policies: Record<string, SnapshotPolicy> = {};
    synth((p) => {
      const v = new Volume(p, 'db', { sizeGb: 1 });
      const r = offsite(p);
      policies.plain = new SnapshotPolicy(p, 'plain', { storage: v, schedule: '0 4 * * *' });
      policies.short = new SnapshotPolicy(p, 'short', { storage: v, schedule: '0 4 * * *', replicateTo: r });
      policies.long = new SnapshotPolicy(p, 'long', {
        storage: v,
        schedule: '0 4 * * *',
        retentionDays: 90,
        replicateTo: r,
      });
      policies.count = new SnapshotPolicy(p, 'count', {
        storage: v,
        schedule: '0 4 * * *',
        replicateTo: r,
        remoteRetentionCount: 10,
      });
      policies.both = new SnapshotPolicy(p, 'both', {
        storage: v,
        schedule: '0 4 * * *',
        replicateTo: r,
        remoteRetentionDays: 7,
        remoteRetentionCount: 10,
      });
      policies.daily = SnapshotPolicy.daily(p, 'daily', { storage: v, replicateTo: r });
      policies.hourly = SnapshotPolicy.hourly(p, 'hourly', { storage: v, replicateTo: r, remoteRetentionCount: 48 });
    });
    expect(policies.plain).toMatchObject({
      replicateTo: undefined,
      remoteRetentionDays: undefined,
      remoteRetentionCount: undefined,
    });
    expect(policies.short).toMatchObject({ remoteRetentionDays: 30, remoteRetentionCount: undefined });
    expect(policies.long).toMatchObject({ remoteRetentionDays: 90 });
    expect(policies.count).toMatchObject({ remoteRetentionDays: undefined, remoteRetentionCount: 10 });
    expect(policies.both).toMatchObject({ remoteRetentionDays: 7, remoteRetentionCount: 10 });
    expect(policies.daily).toMatchObject({ remoteRetentionDays: 30 });
    expect(policies.hourly).toMatchObject({ remoteRetentionDays: undefined, remoteRetentionCount: 48 });
  });

  test('a policy without replicateTo renders no replication field at all', () => {
    const json = synth(
      (p) => new SnapshotPolicy(p, 'nightly', { storage: new Volume(p, 'db', { sizeGb: 1 }), schedule: '0 4 * * *' }),
    );
    const spec = input(json, 'stack/proj/nightly/identity-1');
    for (const field of ['replicate_to', 'remote_retention_days', 'remote_retention_count'])
      expect(spec).not.toHaveProperty(field);
  });

  test.each([
    [0, 'must be a whole number, 1 or more (got 0)'],
    [1, undefined],
    [36500, undefined],
    [1.5, 'must be a whole number, 1 or more (got 1.5)'],
    [-1, 'must be a whole number, 1 or more (got -1)'],
  ])('remoteRetentionDays %p', (days, problem) => {
    const lines = errors(
      (p) =>
        new SnapshotPolicy(p, 'nightly', {
          storage: new Volume(p, 'db', { sizeGb: 1 }),
          schedule: '0 4 * * *',
          replicateTo: offsite(p),
          remoteRetentionDays: days,
        }),
    );
    expect(lines).toEqual(problem ? [`[stack/proj/nightly] \`remoteRetentionDays\` ${problem}`] : []);
  });

  test('remoteRetentionDays beyond the wire limit is refused as the handler would', () => {
    const lines = errors(
      (p) =>
        new SnapshotPolicy(p, 'nightly', {
          storage: new Volume(p, 'db', { sizeGb: 1 }),
          schedule: '0 4 * * *',
          replicateTo: offsite(p),
          remoteRetentionDays: 36501,
        }),
    );
    expect(lines).toEqual([
      '[stack/proj/nightly] renders a spec the handler would refuse: remote_retention_days: must be a whole number from 1 to 36500 (got "36501")',
    ]);
  });

  test.each(['remoteRetentionDays', 'remoteRetentionCount'] as const)('%s without replicateTo is refused', (prop) => {
    expect(
      errors(
        (p) =>
          new SnapshotPolicy(p, 'nightly', {
            storage: new Volume(p, 'db', { sizeGb: 1 }),
            schedule: '0 4 * * *',
            [prop]: 5,
          }),
      ),
    ).toEqual([
      `[stack/proj/nightly] \`${prop}\` applies only with \`replicateTo\` (it says how long backups stay in the repository): set replicateTo or leave it out (got 5)`,
    ]);
  });

  test("another project's repository, or something else, is refused", () => {
    const stack = new TerraformStack(Testing.app() as App, 'stack');
    const a = new StorageProject(stack, 'a', { cli: '/opt/h/cli.js' });
    const b = new StorageProject(stack, 'b', { cli: '/opt/h/cli.js' });
    const theirs = offsite(a);
    new SnapshotPolicy(b, 'nightly', {
      storage: new Volume(b, 'db', { sizeGb: 1 }),
      schedule: '0 4 * * *',
      replicateTo: theirs,
    });
    new SnapshotPolicy(b, 'other', {
      storage: new Volume(b, 'db2', { sizeGb: 1 }),
      schedule: '0 4 * * *',
      replicateTo: js('/srv/backups'),
    });
    expect(() => Testing.synth(stack, true)).toThrow(
      "[stack/b/nightly] `replicateTo` must belong to the same StorageProject: stack/a/offsite is in project 'a', this policy is in 'b'; declare a BackupRepository in 'b' (it may name the same repository)",
    );
    expect(() => Testing.synth(stack, true)).toThrow(
      '[stack/b/other] `replicateTo` must be a BackupRepository (got string)',
    );
  });

  test('an invalid repository is its own line, not repeated by the policy that uses it', () => {
    const lines = errors(
      (p) =>
        new SnapshotPolicy(p, 'nightly', {
          storage: new Volume(p, 'db', { sizeGb: 1 }),
          schedule: '0 4 * * *',
          replicateTo: offsite(p, { repository: 'nope' }),
        }),
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[stack\/proj\/offsite\] `repository` must be an absolute path/);
  });
});

describe('Volume and Disk fromBackup', () => {
  test("renders from_backup with snapshot 'latest' by default, on a disk, a block volume and a directory", () => {
    const json = synth((p) => {
      const r = offsite(p);
      new Disk(p, 'pg', { name: 'myapp-postgres', fromBackup: { repository: r } });
      new Volume(p, 'db', { sizeGb: 2, shared: true, fromBackup: { repository: r, snapshot: '4f3c2a1b' } });
      new Volume(p, 'files', { type: 'directory', fromBackup: { repository: r, snapshot: 'latest' } });
    });
    const repository = { name: 'offsite', url: offsiteProps.repository, password_file: PASS };
    expect(input(json, 'stack/proj/pg/identity').from_backup).toBe(
      encodeFromBackup({ repository, snapshot: 'latest' }),
    );
    expect(input(json, 'stack/proj/db/identity').from_backup).toBe(
      encodeFromBackup({ repository, snapshot: '4f3c2a1b' }),
    );
    expect(parseFromBackupField(input(json, 'stack/proj/files/identity').from_backup).value).toEqual({
      repository,
      snapshot: 'latest',
    });
    expect(input(json, 'stack/proj/pg/identity').from_snapshot).toBe('');
    // Only a create reads it: it is never part of the identity.
    expect(byPath(json)['stack/proj/pg/identity'].triggers_replace).not.toHaveProperty('from_backup');
    expect(encodeRepository(repository)).toBe(JSON.stringify(repository));
  });

  test('storage without fromBackup renders no from_backup field', () => {
    const json = synth((p) => new Disk(p, 'pg', { name: 'pg', sizeGb: 1 }));
    expect(input(json, 'stack/proj/pg/identity')).not.toHaveProperty('from_backup');
  });

  test.each([
    [
      '4f3c2a1',
      '`fromBackup.snapshot` must be \'latest\' or a restic snapshot id (8 to 64 lowercase hex digits, as `hoststore backup list` shows) (got "4f3c2a1")',
    ],
    [
      '4F3C2A1B',
      '`fromBackup.snapshot` must be \'latest\' or a restic snapshot id (8 to 64 lowercase hex digits, as `hoststore backup list` shows) (got "4F3C2A1B")',
    ],
    [
      'a'.repeat(65),
      `\`fromBackup.snapshot\` must be 'latest' or a restic snapshot id (8 to 64 lowercase hex digits, as \`hoststore backup list\` shows) (got "${'a'.repeat(65)}")`,
    ],
    ['a'.repeat(64), undefined],
    ['4f3c2a1b', undefined],
  ])('fromBackup.snapshot %j', (snapshot, problem) => {
    const lines = errors((p) => new Disk(p, 'pg', { name: 'pg', fromBackup: { repository: offsite(p), snapshot } }));
    expect(lines).toEqual(problem ? [`[stack/proj/pg] ${problem}`] : []);
  });

  test('not together with fromSnapshot', () => {
    expect(
      errors(
        (p) =>
          new Disk(p, 'pg', {
            name: 'pg',
            fromSnapshot: 'pg.20260101T000000Z.disk',
            fromBackup: { repository: offsite(p) },
          }),
      ),
    ).toEqual([
      '[stack/proj/pg] `fromBackup` and `fromSnapshot` are both set (fromSnapshot "pg.20260101T000000Z.disk"): a storage is created from one source; keep one',
    ]);
  });

  test('a repository of another project, a missing one, and an unknown key are refused', () => {
    const stack = new TerraformStack(Testing.app() as App, 'stack');
    const a = new StorageProject(stack, 'a', { cli: '/opt/h/cli.js' });
    const b = new StorageProject(stack, 'b', { cli: '/opt/h/cli.js' });
    new Disk(b, 'pg', { name: 'pg', fromBackup: { repository: offsite(a) } });
    new Disk(b, 'pg2', { name: 'pg2', fromBackup: js({ snapshot: 'latest', repositry: 'x' }) });
    new Disk(b, 'pg3', { name: 'pg3', fromBackup: js('offsite') });
    let message = '';
    try {
      Testing.synth(stack, true);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain(
      "[stack/b/pg] `fromBackup.repository` must belong to the same StorageProject: stack/a/offsite is in project 'a', this storage is in 'b'; declare a BackupRepository in 'b' (it may name the same repository)",
    );
    expect(message).toContain(
      '[stack/b/pg2] `fromBackup.repositry` is not a prop of `fromBackup`; known props: repository, snapshot (did you mean `fromBackup.repository`?)',
    );
    expect(message).toContain('[stack/b/pg2] `fromBackup.repository` must be a BackupRepository (got undefined)');
    expect(message).toContain(
      '[stack/b/pg3] `fromBackup` must be an object such as { repository: offsite, snapshot: \'latest\' } (got "offsite")',
    );
  });

  test("a non-shared volume's replicas each restore their own name's backups: 'latest' only", () => {
    const ok = synth((p) => {
      const v = new Volume(p, 'cache', { sizeGb: 1, fromBackup: { repository: offsite(p) } });
      new Mount(p, 'm', { storage: v, service: 'web', mountPath: '/cache', replicas: 2 });
    });
    expect(parseFromBackupField(input(ok, 'stack/proj/cache/identity-2').from_backup).value?.snapshot).toBe('latest');
    expect(input(ok, 'stack/proj/cache/identity-2').name).toBe('cache-2');
    expect(
      errors((p) => {
        const v = new Volume(p, 'cache', { sizeGb: 1, fromBackup: { repository: offsite(p), snapshot: '4f3c2a1b' } });
        new Mount(p, 'm', { storage: v, service: 'web', mountPath: '/cache', replicas: 2 });
      }),
    ).toEqual([
      "[stack/proj/cache] `fromBackup.snapshot` names one backup, but volume 'cache' with shared: false has 2 replicas, each restored from the backups of its own name (cache-1, cache-2): use 'latest' (got \"4f3c2a1b\")",
    ]);
  });
});
