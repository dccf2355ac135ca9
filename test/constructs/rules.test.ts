/** Every rule of synthesis (issue 2 §3): a failing case per rule, its message asserted, boundaries looped. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, TerraformStack, Testing } from 'cdktf';
import { Construct } from 'constructs';
import { Disk, Mount, SnapshotPolicy, StorageProject, Volume } from '../../src/index.js';
import { errors, makeStack } from './synth-helpers.js';

const ok = (lines: string[]) => expect(lines).toEqual([]);

describe('sizeGb', () => {
  test.each([
    [0, false],
    [1, true],
    [500, true],
    [501, false],
  ])('Volume sizeGb %p valid=%p (default limit 500)', (size, valid) => {
    const lines = errors((p) => new Volume(p, 'db', { sizeGb: size }));
    if (valid) ok(lines);
    else
      expect(lines).toEqual([
        `[stack/proj/db] \`sizeGb\` must be a whole number from 1 to 500 (limits.maxVolumeSizeGb) (got ${size})`,
      ]);
  });
  test.each([
    [1000, true],
    [1001, false],
  ])('raised limit: Disk sizeGb %p valid=%p', (size, valid) => {
    const lines = errors((p) => new Disk(p, 'd', { name: 'd', sizeGb: size }), { limits: { maxVolumeSizeGb: 1000 } });
    expect(lines).toEqual(
      valid
        ? []
        : [`[stack/proj/d] \`sizeGb\` must be a whole number from 1 to 1000 (limits.maxVolumeSizeGb) (got ${size})`],
    );
  });
  test('not a whole number', () => {
    expect(errors((p) => new Volume(p, 'db', { sizeGb: 1.5 }))).toEqual([
      '[stack/proj/db] `sizeGb` must be a whole number from 1 to 500 (limits.maxVolumeSizeGb) (got 1.5)',
    ]);
  });
  test('a Disk may omit sizeGb; a block Volume may not', () => {
    ok(errors((p) => new Disk(p, 'd', { name: 'existing' })));
    expect(errors((p) => new Volume(p, 'db', {} as never))).toEqual([
      '[stack/proj/db] `sizeGb` must be a whole number from 1 to 500 (limits.maxVolumeSizeGb) (got undefined)',
    ]);
  });
});

describe('maxVolumes', () => {
  test.each([
    [10, true],
    [11, false],
  ])('%p volumes, valid=%p', (count, valid) => {
    const lines = errors((p) => {
      for (let i = 0; i < count; i += 1) new Volume(p, `v${i}`, { sizeGb: 1, shared: true });
    });
    if (valid) ok(lines);
    else
      expect(lines).toEqual([
        expect.stringMatching(
          /^\[stack\/proj\] `limits.maxVolumes` allows at most 10 volumes in project 'proj' \(got 11: v0, .*v10\); a volume with shared: false counts once per replica/,
        ),
      ]);
  });
  test('a non-shared volume counts once per replica; disks do not count', () => {
    const build = (replicas: number) => (p: StorageProject) => {
      for (let i = 0; i < 8; i += 1) new Volume(p, `v${i}`, { sizeGb: 1, shared: true });
      const cache = new Volume(p, 'cache', { sizeGb: 1 });
      new Mount(p, 'm', { storage: cache, service: 'web', mountPath: '/c', replicas });
      new Disk(p, 'd', { name: 'd', sizeGb: 1 });
    };
    ok(errors(build(2)));
    expect(errors(build(3))).toEqual([
      expect.stringMatching(/allows at most 10 volumes .* \(got 11: .*cache-1, cache-2, cache-3\)/),
    ]);
  });
});

describe('names', () => {
  test.each(['..', 'a/b', 'has space', 'dollar$', 'quote"', "single'", '-leading', 'trailing-', 'semi;colon', ''])(
    'Disk name %p is refused',
    (name) => {
      expect(errors((p) => new Disk(p, 'd', { name, sizeGb: 1 }))).toEqual([
        expect.stringMatching(
          new RegExp(
            `^\\[stack/proj/d\\] \`name\` must (contain only letters, digits and hyphens, and start and end with a letter or digit|not be empty) \\(got ${JSON.stringify(name).replace(/[$.*+?()[\]{}|\\^]/g, '\\$&')}\\)$`,
          ),
        ),
      ]);
    },
  );
  test.each([
    [62, true],
    [63, true],
    [64, false],
  ])('name of %p characters valid=%p', (length, valid) => {
    const name = 'a'.repeat(length);
    const lines = errors((p) => new Disk(p, 'd', { name, sizeGb: 1 }));
    expect(lines).toEqual(
      valid ? [] : [`[stack/proj/d] \`name\` must be at most 63 characters (got 64) (got "${name}")`],
    );
  });
  test('per-replica names must fit too', () => {
    expect(
      errors((p) => {
        const v = new Volume(p, 'v', { name: 'a'.repeat(62), sizeGb: 1 });
        new Mount(p, 'm', { storage: v, service: 'web', mountPath: '/d', replicas: 2 });
      }),
    ).toEqual([
      expect.stringMatching(
        /`name` with shared: false becomes 'a{62}-1' for replica 1, which must be at most 63 characters/,
      ),
      expect.stringMatching(/for replica 2/),
    ]);
  });
  test('names are unique within a project (across kinds)', () => {
    expect(
      errors((p) => {
        new Volume(p, 'a', { name: 'data', sizeGb: 1, shared: true });
        new Disk(p, 'b', { name: 'data', sizeGb: 1 });
      }),
    ).toEqual([
      "[stack/proj] storage names must be unique in project 'proj': 'data' is used by stack/proj/a and stack/proj/b",
    ]);
  });
  test('project name: lowercase letters, digits, hyphens', () => {
    expect(errors(() => undefined, { name: 'My_App' })).toEqual([
      '[stack/proj] `name` must contain only lowercase letters, digits and hyphens, and start and end with a letter or digit (got "My_App")',
    ]);
  });
});

describe('filesystems', () => {
  test('Volumes are ext4 only', () => {
    expect(errors((p) => new Volume(p, 'v', { sizeGb: 1, filesystem: 'xfs' as never }))).toEqual([
      '[stack/proj/v] `filesystem` of a Volume must be \'ext4\' (volumes are ext4 only; use a Disk for xfs or btrfs) (got "xfs")',
    ]);
  });
  test('Disk filesystem is one of ext4, xfs, btrfs', () => {
    for (const fs of ['ext4', 'xfs', 'btrfs'] as const)
      ok(errors((p) => new Disk(p, 'd', { name: 'd', sizeGb: 1, filesystem: fs })));
    expect(errors((p) => new Disk(p, 'd', { name: 'd', sizeGb: 1, filesystem: 'zfs' as never }))).toEqual([
      "[stack/proj/d] `filesystem` must be one of 'ext4', 'xfs', 'btrfs' (got \"zfs\")",
    ]);
  });
  test('a directory volume takes no size', () => {
    expect(errors((p) => new Volume(p, 'u', { type: 'directory', sizeGb: 5 } as never))).toEqual([
      "[stack/proj/u] `sizeGb` does not apply to a directory volume (type: 'directory' has no size or filesystem) (got 5)",
    ]);
  });
});

describe('mounts', () => {
  const mountAt = (mountPath: string) =>
    errors((p) => {
      const v = new Volume(p, 'v', { sizeGb: 1, shared: true });
      new Mount(p, 'm', { storage: v, service: 'web', mountPath });
    });
  test.each([
    ['relative/path', 'must be an absolute path (start with /)'],
    ['/a/../b', "must be normalized: no '..' segment"],
    ['/a/./b', "must be normalized: no '.' segment"],
    ['/a//b', 'must be normalized: no empty segment (//)'],
    ['/a/', 'must be normalized: no trailing slash'],
    ['/', 'must not be / (the whole container filesystem)'],
    [
      '/with space',
      'must contain only letters, digits and . _ @ + = - between slashes (no spaces, quotes or shell characters)',
    ],
    ['/x/${HOME}', 'must contain only letters, digits'],
  ])('mountPath %p is refused', (mountPath, rule) => {
    expect(mountAt(mountPath)).toEqual([expect.stringContaining(`[stack/proj/m] \`mountPath\` ${rule}`)]);
  });
  test('no two Mounts of one service at the same or nested paths', () => {
    expect(
      errors((p) => {
        const a = new Volume(p, 'a', { sizeGb: 1, shared: true });
        const b = new Volume(p, 'b', { sizeGb: 1, shared: true });
        new Mount(p, 'm1', { storage: a, service: 'web', mountPath: '/data' });
        new Mount(p, 'm2', { storage: b, service: 'web', mountPath: '/data/sub' });
        new Mount(p, 'm3', { storage: b, service: 'other', mountPath: '/data' });
      }),
    ).toEqual([
      "[stack/proj] `mountPath` of service 'web' must not repeat or nest: stack/proj/m1 mounts '/data' and stack/proj/m2 mounts '/data/sub'",
    ]);
  });
  test('service follows the name rule', () => {
    expect(
      errors((p) => {
        const v = new Volume(p, 'v', { sizeGb: 1, shared: true });
        new Mount(p, 'm', { storage: v, service: 'web app', mountPath: '/d' });
      }),
    ).toEqual([
      '[stack/proj/m] `service` must contain only letters, digits and hyphens, and start and end with a letter or digit (got "web app")',
    ]);
  });
  test.each([
    [0, false],
    [1, true],
    [100, true],
    [101, false],
  ])('replicas %p valid=%p', (replicas, valid) => {
    const lines = errors((p) => {
      const v = new Volume(p, 'v', { type: 'directory' });
      new Mount(p, 'm', { storage: v, service: 'web', mountPath: '/d', replicas });
    });
    expect(lines).toEqual(
      valid ? [] : [`[stack/proj/m] \`replicas\` must be a whole number from 1 to 100 (got ${replicas})`],
    );
  });
  test('a Disk is exclusive: replicas > 1 and a second Mount are refused', () => {
    expect(
      errors((p) => {
        const d = new Disk(p, 'd', { name: 'pg', sizeGb: 1 });
        new Mount(p, 'm', { storage: d, service: 'db', mountPath: '/data', replicas: 2 });
      }),
    ).toEqual([
      "[stack/proj/m] `replicas` must be 1 for a Disk (got 2): disk 'pg' is exclusive, one instance holds its lease; use one disk per instance, or a shared Volume",
    ]);
    expect(
      errors((p) => {
        const d = new Disk(p, 'd', { name: 'pg', sizeGb: 1 });
        new Mount(p, 'm1', { storage: d, service: 'db', mountPath: '/data' });
        new Mount(p, 'm2', { storage: d, service: 'backup', mountPath: '/data' });
      }),
    ).toEqual([
      "[stack/proj/m2] Cannot mount disk 'pg' here since it is already mounted by stack/proj/m1: a disk is exclusive; use one disk per instance",
    ]);
  });
  test('a non-shared volume is mounted by one Mount', () => {
    expect(
      errors((p) => {
        const v = new Volume(p, 'v', { sizeGb: 1 });
        new Mount(p, 'm1', { storage: v, service: 'a', mountPath: '/d' });
        new Mount(p, 'm2', { storage: v, service: 'b', mountPath: '/d' });
      }),
    ).toEqual([
      expect.stringMatching(
        /^\[stack\/proj\/m2\] Cannot mount volume 'v' here since it is already mounted by stack\/proj\/m1: .*set shared: true to share it$/,
      ),
    ]);
  });
  test('storage from another project is refused', () => {
    expect(
      errors((p, stack) => {
        const other = new StorageProject(stack, 'other', { cli: 'hoststore' });
        const v = new Volume(other, 'v', { sizeGb: 1, shared: true });
        new Mount(p, 'm', { storage: v, service: 'web', mountPath: '/d' });
      }),
    ).toEqual([
      "[stack/proj/m] `storage` must belong to the same StorageProject: stack/other/v is in project 'other', this Mount is in 'proj'",
    ]);
  });
});

describe('snapshot policies', () => {
  const policy = (props: Partial<ConstructorParameters<typeof SnapshotPolicy>[2]>) =>
    errors((p) => {
      const v = new Volume(p, 'v', { sizeGb: 1, shared: true });
      new SnapshotPolicy(p, 'nightly', { storage: v, schedule: '0 4 * * *', ...props });
    });
  test.each([
    ['0 4 * *', 'must be a 5-field cron expression (minute hour day-of-month month day-of-week), got 4 field(s)'],
    ['0 0 4 * * *', 'must be a 5-field cron expression (minute hour day-of-month month day-of-week), got 6 field(s)'],
    ['61 * * * *', 'must be a valid cron expression: Invalid value for minute: 61'],
    ['0 0 30 2 *', 'must fire at least once (this schedule never does)'],
    ['@daily', 'must be a 5-field cron expression'],
  ])('schedule %p is refused', (schedule, rule) => {
    expect(policy({ schedule })).toEqual([expect.stringContaining(`[stack/proj/nightly] \`schedule\` ${rule}`)]);
  });
  test.each([
    [0, false],
    [1, true],
  ])('retentionDays / retentionCount %p valid=%p', (n, valid) => {
    expect(policy({ retentionDays: n })).toEqual(
      valid ? [] : [`[stack/proj/nightly] \`retentionDays\` must be a whole number, 1 or more (got ${n})`],
    );
    expect(policy({ retentionCount: n })).toEqual(
      valid ? [] : [`[stack/proj/nightly] \`retentionCount\` must be a whole number, 1 or more (got ${n})`],
    );
  });
  test('the storage must belong to the same project', () => {
    expect(
      errors((p, stack) => {
        const other = new StorageProject(stack, 'other', { cli: 'hoststore' });
        const v = new Volume(other, 'v', { sizeGb: 1, shared: true });
        new SnapshotPolicy(p, 'nightly', { storage: v, schedule: '0 4 * * *' });
      }),
    ).toEqual([
      "[stack/proj/nightly] `storage` must belong to the same StorageProject: stack/other/v is in project 'other', this policy is in 'proj'",
    ]);
  });
});

describe('root', () => {
  test.each([
    ['relative', 'must be an absolute path (start with /)'],
    ['/', 'must not be a system directory or lie inside one'],
    ['/etc', 'must not be a system directory or lie inside one'],
    ['/usr/local/data', 'must not be a system directory or lie inside one'],
    ['/proc/x', 'must not be a system directory or lie inside one'],
    ['/srv/../etc', "must be normalized: no '..' segment"],
  ])('root %p is refused', (root, rule) => {
    expect(errors(() => undefined, { root })).toEqual([expect.stringContaining(`[stack/proj] \`root\` ${rule}`)]);
  });
  test('/srv/hoststore is fine', () => ok(errors(() => undefined, { root: '/srv/hoststore' })));
});

test('every broken rule is reported at once', () => {
  const lines = errors(
    (p) => {
      const v = new Volume(p, 'db', { sizeGb: 501 });
      new Mount(p, 'm', { storage: v, service: 'web', mountPath: 'data', replicas: 0 });
      new Disk(p, 'd', { name: 'bad name', filesystem: 'zfs' as never });
      new SnapshotPolicy(p, 'snap', { storage: v, schedule: 'daily' });
    },
    { root: '/etc/hoststore' },
  );
  expect(lines).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^\[stack\/proj\] `root` must not be a system directory/),
      '[stack/proj/db] `sizeGb` must be a whole number from 1 to 500 (limits.maxVolumeSizeGb) (got 501)',
      expect.stringMatching(/^\[stack\/proj\/m\] `mountPath` must be an absolute path/),
      '[stack/proj/m] `replicas` must be a whole number from 1 to 100 (got 0)',
      expect.stringMatching(/^\[stack\/proj\/d\] `name` must contain only/),
      expect.stringMatching(/^\[stack\/proj\/d\] `filesystem` must be one of/),
      expect.stringMatching(/^\[stack\/proj\/snap\] `schedule` must be a 5-field cron expression/),
    ]),
  );
  expect(lines).toHaveLength(7);
});

test('fromSnapshot must be a snapshot id', () => {
  ok(errors((p) => new Disk(p, 'd', { name: 'd', fromSnapshot: 'pg.20261122T040000Z' })));
  expect(errors((p) => new Volume(p, 'v', { sizeGb: 1, fromSnapshot: 'last night' }))).toEqual([
    '[stack/proj/v] `fromSnapshot` must be a snapshot id as `hoststore snapshot list` shows it (<name>.<YYYYMMDDTHHMMSSZ>.<kind>[.<project>][.<n>], or <name>.<YYYYMMDDTHHMMSSZ>) (got "last night")',
  ]);
});

describe('project props', () => {
  test.each([
    [0, false],
    [1, true],
  ])('limits.maxVolumes %p valid=%p', (maxVolumes, valid) => {
    const lines = errors((p) => new Volume(p, 'v', { sizeGb: 1, shared: true }), { limits: { maxVolumes } });
    if (valid) ok(lines);
    else expect(lines).toContain('[stack/proj] `limits.maxVolumes` must be a whole number, 1 or more (got 0)');
  });
  test.each([
    [0, false],
    [1, true],
    [65536, true],
    [65537, false],
  ])('limits.maxVolumeSizeGb %p valid=%p (64 TiB ceiling)', (max, valid) => {
    const lines = errors(() => undefined, { limits: { maxVolumeSizeGb: max } });
    expect(lines).toEqual(
      valid ? [] : [`[stack/proj] \`limits.maxVolumeSizeGb\` must be a whole number from 1 to 65536 (got ${max})`],
    );
  });
  test('carrier is terraform_data or null_resource; cli is not empty', () => {
    expect(errors(() => undefined, { carrier: 'local_file' as never, cli: '' })).toEqual([
      "[stack/proj] `carrier` must be one of 'terraform_data', 'null_resource' (got \"local_file\")",
      '[stack/proj] `cli` must be a command name or path (got "")',
    ]);
  });
  test.each([
    [63, true],
    [64, false],
  ])('project name of %p characters valid=%p', (length, valid) => {
    const name = 'p'.repeat(length);
    expect(errors(() => undefined, { name })).toEqual(
      valid ? [] : [`[stack/proj] \`name\` must be at most 63 characters (got 64) (got "${name}")`],
    );
  });
  test('two projects of one name under one root in an app are refused', () => {
    expect(errors((_p, stack) => new StorageProject(stack, 'twin', { name: 'proj', cli: 'hoststore' }))).toEqual([
      "[stack/proj] `name` must be unique per root in an app: project 'proj' under '/var/lib/hoststore' is also declared by stack/twin; the two would share one host directory. Give one a different name",
      "[stack/twin] `name` must be unique per root in an app: project 'proj' under '/var/lib/hoststore' is also declared by stack/proj; the two would share one host directory. Give one a different name",
    ]);
    ok(
      errors((_p, stack) => new StorageProject(stack, 'twin', { name: 'proj', root: '/srv/other', cli: 'hoststore' })),
    );
  });
});

describe('retention upper bounds (the handler schema, checked at synth)', () => {
  const policy = (props: { retentionDays?: number; retentionCount?: number }) =>
    errors((p) => {
      const v = new Volume(p, 'v', { sizeGb: 1 });
      new Mount(p, 'm', { storage: v, service: 'web', mountPath: '/d', replicas: 2 });
      new SnapshotPolicy(p, 'nightly', { storage: v, schedule: '0 4 * * *', ...props });
    });
  test.each([
    [36500, true],
    [36501, false],
  ])('retentionDays %p valid=%p', (days, valid) => {
    expect(policy({ retentionDays: days })).toEqual(
      valid
        ? []
        : [
            `[stack/proj/nightly] renders a spec the handler would refuse: retention_days: must be a whole number from 1 to 36500 (got "${days}")`,
          ],
    );
  });
  test.each([
    [100000, true],
    [100001, false],
  ])('retentionCount %p valid=%p', (count, valid) => {
    expect(policy({ retentionCount: count })).toEqual(
      valid
        ? []
        : [
            `[stack/proj/nightly] renders a spec the handler would refuse: retention_count: must be a whole number from 1 to 100000 (got "${count}")`,
          ],
    );
  });
  test('a refused spec renders nothing, not a stack missing the resource', () => {
    const stack = makeStack((p) => {
      const v = new Volume(p, 'v', { sizeGb: 1, shared: true });
      new SnapshotPolicy(p, 'nightly', { storage: v, schedule: '0 4 * * *', retentionDays: 36501 });
    });
    expect(() => Testing.synth(stack, true)).toThrow(/retention_days: must be a whole number from 1 to 36500/);
  });
});

test('snapshot policy ids are unique in a project', () => {
  expect(
    errors((p) => {
      const v = new Volume(p, 'v', { sizeGb: 1, shared: true });
      new SnapshotPolicy(p, 'nightly', { storage: v, schedule: '0 4 * * *' });
      new SnapshotPolicy(new Construct(p, 'group'), 'nightly', { storage: v, schedule: '0 5 * * *' });
    }),
  ).toEqual([
    "[stack/proj] snapshot policy ids must be unique in project 'proj' (the id names the policy on the host): 'nightly' is used by stack/proj/nightly and stack/proj/group/nightly",
  ]);
});

test('constructs outside a StorageProject are refused at once', () => {
  const stack = new TerraformStack(Testing.app() as App, 'stack');
  expect(() => new Volume(stack, 'v', { sizeGb: 1 })).toThrow(
    '[stack/v] must be created inside a StorageProject (new Volume(project, ...))',
  );
});

test('app.synth() (what cdktf synth runs) fails listing every broken rule', () => {
  const build = (stack: TerraformStack) => {
    const p = new StorageProject(stack, 'proj', { cli: 'hoststore' });
    new Volume(p, 'db', { sizeGb: 501 });
    new Disk(p, 'pg', { name: 'pg', filesystem: 'zfs' as never });
  };
  const expected = [
    'Validation failed with the following errors:',
    '  [stack/proj/db] `sizeGb` must be a whole number from 1 to 500 (limits.maxVolumeSizeGb) (got 501)',
    "  [stack/proj/pg] `filesystem` must be one of 'ext4', 'xfs', 'btrfs' (got \"zfs\")",
  ].join('\n');
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-synth-'));
  try {
    const app = new App({ outdir });
    build(new TerraformStack(app, 'stack'));
    expect(() => app.synth()).toThrow(expected);
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
});
