/**
 * The root is a trust boundary (issue 9 §1): each attack an unprivileged user could mount through a root
 * or a registry they can write, reproduced on a real root with real images, loop devices and mounts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { converge, makeContext } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { mountHandler } from '../../provider/handlers/mount.js';
import { cronEntryPath, snapshotPolicyHandler } from '../../provider/handlers/snapshot-policy.js';
import { mountAt, readMountTable } from '../../provider/host/mounts.js';
import { Registry, type StorageRecord } from '../../provider/registry/store.js';
import { imagePath, legacySnapshotPath, snapshotPath } from '../../src/schema.js';
import { hostLoopsUnder, hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { mountWire, storageWire } from '../helpers/specs.js';
import { hoststore } from '../helpers/cli.js';

const NOBODY = 65534;
let host: HostFixture;
let outsiders: string[];
beforeEach(() => {
  host = makeHostFixture();
  outsiders = [];
});
afterEach(() => {
  delete process.env.HOSTSTORE_CRON_DIR;
  host.cleanup();
  for (const dir of outsiders) fs.rmSync(dir, { recursive: true, force: true });
});

const ctx = () => makeContext(host.root, { log: () => undefined });
const storage = (o: Parameters<typeof storageWire>[1] = {}) => storageHandler.validate(storageWire(host.root, o));
const mount = (o: Parameters<typeof mountWire>[1] = {}) => mountHandler.validate(mountWire(host.root, o));
const cli = (...args: string[]) => hoststore([...args, '--root', host.root]);
const oneLine = (stderr: string) => expect(stderr.split('\n').filter(Boolean)).toHaveLength(1);

/** A directory outside the root (beside it, under /tmp), removed after the test. */
function outside(): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-outside-')));
  outsiders.push(dir);
  return dir;
}

/** An ext4 image holding a setuid-root copy of `id`, as an attacker would prepare it, owned by `owner`. */
function plantImage(image: string, owner: number, mode = 0o600): void {
  const content = outside();
  fs.chmodSync(content, 0o755);
  fs.copyFileSync('/usr/bin/id', path.join(content, 'id'));
  fs.chmodSync(path.join(content, 'id'), 0o4755);
  fs.mkdirSync(path.dirname(image), { recursive: true, mode: 0o700 });
  execFileSync('mkfs.ext4', ['-q', '-F', '-d', content, image, '64M'], { stdio: 'ignore' });
  fs.chmodSync(image, mode);
  fs.chownSync(image, owner, owner);
}

describe('images someone else planted', () => {
  hostTest('mkfs.ext4', 'setpriv')(
    'an image owned by another user, holding a setuid-root binary, is refused at adopt',
    async () => {
      // GIVEN an image under disks/ owned by nobody, with a setuid-root binary inside
      const image = imagePath(host.root, 'disk', 'app', 'planted');
      plantImage(image, NOBODY);
      // WHEN a Disk of that name is declared (plan and provisioner share this diff)
      const spec = storage({ name: 'planted', size_gb: '' });
      const diff = storageHandler.diff(ctx(), spec, storageHandler.read(ctx(), spec));
      // THEN it is refused, with the reason and the fix
      expect(diff).toEqual({
        action: 'adopt',
        changes: [
          {
            field: 'image',
            kind: 'refused',
            safety: 'refused',
            reason: `disk planted: refusing to adopt ${image}: it is owned by nobody (uid ${NOBODY}), not root (mode 0600); hoststore mounts what it adopts as root, so it adopts only an image that is root's alone. Check its content, then: chown root:root ${image} && chmod 600 ${image} (a copy if it has other links)`,
          },
        ],
      });
      // AND the provisioner's path refuses it too, with one line and exit 3, recording and attaching nothing
      const result = hoststore(
        ['handle', 'storage', 'converge'],
        storageWire(host.root, { name: 'planted', size_gb: '' }),
      );
      expect(result).toMatchObject({
        status: 3,
        stderr: expect.stringContaining(`refusing to adopt ${image}: it is owned by nobody`),
      });
      oneLine(result.stderr);
      expect(ctx().registry.storage('disk', 'app', 'planted')).toBeUndefined();
      expect(hostLoopsUnder(host.root)).toEqual([]);
    },
  );

  test.each([
    ['writable by others', 0o666, false, /is writable by group or others \(owner root \(uid 0\), mode 0666\)/],
    ['with a second hard link', 0o600, true, /has 2 hard links, so another name could change it/],
  ])('a root-owned image %s is refused at adopt', (_what, mode, link, reason) => {
    if (process.getuid?.() !== 0) return;
    const image = imagePath(host.root, 'disk', 'app', 'planted');
    fs.mkdirSync(path.dirname(image), { recursive: true, mode: 0o700 });
    fs.writeFileSync(image, '');
    fs.truncateSync(image, 64 * 1024 ** 2);
    fs.chmodSync(image, mode);
    if (link) fs.linkSync(image, host.path('disks', 'other-name'));
    const spec = storage({ name: 'planted', size_gb: '' });
    expect(storageHandler.diff(ctx(), spec, storageHandler.read(ctx(), spec)).changes).toEqual([
      expect.objectContaining({ field: 'image', safety: 'refused', reason: expect.stringMatching(reason) }),
    ]);
  });

  hostTest('mkfs.ext4', 'setpriv')(
    'a root-owned planted image is mounted nosuid,nodev: its setuid binary gives no root',
    async () => {
      // GIVEN a root-owned image with a setuid-root `id`, adopted and mounted through hoststore
      plantImage(imagePath(host.root, 'disk', 'app', 'planted'), 0);
      await converge(storageHandler, ctx(), storage({ name: 'planted', size_gb: '' }));
      const spec = mount({ storage: 'planted' });
      await converge(mountHandler, ctx(), spec);
      // THEN the mount is nosuid,nodev
      expect(mountAt(spec.host_path)?.options.split(',')).toEqual(expect.arrayContaining(['nosuid', 'nodev']));
      // AND another user running the setuid binary stays who they are
      const binary = path.join(spec.host_path, 'id');
      expect(fs.statSync(binary).mode & 0o4000).toBe(0o4000);
      fs.chmodSync(host.root, 0o755); // let uid 65534 reach the mount point
      const euid = execFileSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', binary, '-u'], {
        encoding: 'utf8',
      }).trim();
      expect(euid).toBe(String(NOBODY));
    },
  );

  hostTest('mkfs.ext4')(
    'binds of shared volumes and directory volumes are nosuid,nodev, also after a remount',
    async () => {
      await converge(storageHandler, ctx(), storage({ kind: 'volume', name: 'shared', shared: 'true' }));
      await converge(storageHandler, ctx(), storage({ kind: 'directory', name: 'files', size_gb: '', filesystem: '' }));
      for (const [storageName, kind] of [
        ['shared', 'volume'],
        ['files', 'directory'],
      ] as const) {
        for (const readOnly of ['false', 'true', 'false'] as const) {
          const spec = mount({
            storage: storageName,
            storage_kind: kind,
            mount_path: `/${storageName}`,
            read_only: readOnly,
          });
          await converge(mountHandler, ctx(), spec);
          const options = mountAt(spec.host_path)?.options.split(',');
          expect(options).toEqual(expect.arrayContaining(['nosuid', 'nodev', readOnly === 'true' ? 'ro' : 'rw']));
        }
      }
      const staging = readMountTable().filter((e) => e.target.startsWith(`${host.root}/staging/`));
      expect(staging.map((e) => e.options.split(','))).toEqual([expect.arrayContaining(['nosuid', 'nodev'])]);
    },
  );
});

describe('files and records someone else planted', () => {
  hostTest()('a symlink planted at registry/storage.json.tmp is not followed', async () => {
    // GIVEN a victim file outside the root and a symlink to it where the registry wrote its temporary
    const victim = path.join(outside(), 'victim');
    fs.writeFileSync(victim, 'not yours');
    fs.mkdirSync(host.path('registry'), { mode: 0o700 });
    fs.symlinkSync(victim, host.path('registry', 'storage.json.tmp'));
    // WHEN the registry is written (a storage is created)
    await converge(storageHandler, ctx(), storage({ kind: 'directory', name: 'files', size_gb: '', filesystem: '' }));
    // THEN the victim is untouched and the registry file is a real file holding the record
    expect(fs.readFileSync(victim, 'utf8')).toBe('not yours');
    expect(fs.lstatSync(host.path('registry', 'storage.json')).isFile()).toBe(true);
    expect(ctx().registry.storage('directory', 'app', 'files')).toMatchObject({ state: 'ready' });
  });

  hostTest('mkfs.ext4')("a symlink planted at the cron entry's temporary name is not followed", async () => {
    await converge(storageHandler, ctx(), storage());
    const cronDir = host.path('cron.d');
    process.env.HOSTSTORE_CRON_DIR = cronDir;
    const spec = snapshotPolicyHandler.validate({
      root: host.root,
      project: 'app',
      policy: 'nightly',
      storage: 'data',
      storage_kind: 'disk',
      stack: 'test',
      schedule: '0 4 * * *',
      retention_days: '',
      retention_count: '2',
    });
    const victim = path.join(outside(), 'victim');
    fs.writeFileSync(victim, 'not yours');
    fs.mkdirSync(cronDir);
    fs.symlinkSync(victim, `${cronEntryPath(spec)}.tmp`);
    await converge(snapshotPolicyHandler, ctx(), spec);
    expect(fs.readFileSync(victim, 'utf8')).toBe('not yours');
    expect(fs.lstatSync(cronEntryPath(spec)).isFile()).toBe(true);
    expect(fs.readFileSync(cronEntryPath(spec), 'utf8')).toMatch(/snapshot run-due --root /);
  });

  hostTest()('delete NAME --yes leaves alone a directory outside the root that a forged record points at', () => {
    // GIVEN a registry record whose path is a directory outside the root
    const precious = outside();
    fs.writeFileSync(path.join(precious, 'data'), 'precious');
    const now = new Date().toISOString();
    new Registry(host.root).putStorage({
      kind: 'directory',
      name: 'victim',
      project: 'app',
      stack: 'x',
      state: 'ready',
      shared: false,
      removalPolicy: 'retain',
      path: precious,
      createdAt: now,
      updatedAt: now,
    } satisfies StorageRecord);
    // WHEN it is deleted by name
    const result = cli('delete', 'victim', '--yes');
    // THEN only what the layout names was deleted (nothing there) and the record; the directory is intact
    expect(result).toMatchObject({
      status: 0,
      stdout: `deleted directory victim (${host.path('projects/app/directories/victim')})\n`,
    });
    expect(fs.readFileSync(path.join(precious, 'data'), 'utf8')).toBe('precious');
    expect(ctx().registry.storage('directory', 'app', 'victim')).toBeUndefined();
  });

  hostTest()('a record whose name walks out of the root is refused in one line', () => {
    const now = new Date().toISOString();
    new Registry(host.root).put('storage', 'directory--app--evil', {
      kind: 'directory',
      name: '../../../../tmp',
      project: 'app',
      stack: 'x',
      state: 'ready',
      shared: false,
      removalPolicy: 'retain',
      path: '/tmp',
      createdAt: now,
      updatedAt: now,
    });
    const result = cli('list');
    expect(result).toMatchObject({
      status: 3,
      stderr: expect.stringMatching(
        /^hoststore: refusing a registry record whose name is "\.\.\/\.\.\/\.\.\/\.\.\/tmp": not a valid name/,
      ),
    });
    oneLine(result.stderr);
  });

  hostTest('mkfs.ext4')(
    'snapshot delete leaves alone a file outside the root that a forged snapshot record points at',
    async () => {
      await converge(storageHandler, ctx(), storage());
      const precious = path.join(outside(), 'precious.img');
      fs.writeFileSync(precious, 'precious');
      new Registry(host.root).put('snapshots', 'data.20260101T000000Z', {
        id: 'data.20260101T000000Z',
        kind: 'disk',
        project: 'app',
        storage: 'data',
        path: precious,
        createdAt: '2026-01-01T00:00:00.000Z',
        trigger: 'manual',
        method: 'sparse-copy',
        frozenMs: 0,
        sha256: 'x',
      });
      expect(cli('snapshot', 'delete', 'data.20260101T000000Z')).toMatchObject({ status: 0 });
      expect(fs.readFileSync(precious, 'utf8')).toBe('precious');
    },
  );

  hostTest('mkfs.ext4')(
    'restore --in-place copies the snapshot the layout names, never a file outside the root its record points at',
    () => {
      // GIVEN a directory volume with a real snapshot, whose record is then edited to point at a file outside the root
      const files = { kind: 'directory' as const, name: 'files', size_gb: '', filesystem: '' as const };
      expect(hoststore(['handle', 'storage', 'converge'], storageWire(host.root, files)).status).toBe(0);
      fs.writeFileSync(host.path('projects', 'app', 'directories', 'files', 'data.txt'), 'snapshotted');
      const taken = JSON.parse(cli('snapshot', 'create', 'files', '--json').stdout) as { id: string };
      const secret = outside();
      fs.writeFileSync(path.join(secret, 'data.txt'), 'secret outside the root');
      const registry = new Registry(host.root);
      registry.put('snapshots', taken.id, {
        ...registry.get<Record<string, unknown>>('snapshots', taken.id),
        path: secret,
      });
      fs.writeFileSync(host.path('projects', 'app', 'directories', 'files', 'data.txt'), 'changed since');
      // WHEN it is restored in place
      expect(cli('snapshot', 'restore', taken.id, '--in-place', '--yes')).toMatchObject({ status: 0 });
      // THEN the volume holds what the snapshot holds, not what the record pointed at
      expect(fs.readFileSync(host.path('projects', 'app', 'directories', 'files', 'data.txt'), 'utf8')).toBe(
        'snapshotted',
      );
    },
  );
});

describe('symlinks on the way', () => {
  hostTest('mkfs.ext4')(
    'disks/ made a symlink to a directory outside the root: refused in one line, nothing made there',
    () => {
      const elsewhere = outside();
      fs.symlinkSync(elsewhere, host.path('disks'));
      const result = hoststore(['handle', 'storage', 'converge'], storageWire(host.root));
      expect(result).toMatchObject({
        status: 3,
        stderr: `hoststore: refusing to use the hoststore directory ${host.path('disks')}: it is a symlink (to ${elsewhere}), and hoststore follows no symlink under or above its root; replace it with a real directory owned by root (or use the real path as the root)\n`,
      });
      expect(fs.readdirSync(elsewhere)).toEqual([]);
      expect(hostLoopsUnder(elsewhere)).toEqual([]);
    },
  );

  hostTest('mkfs.ext4')(
    'snapshots/ made a symlink to a directory outside the root: refused in one line, nothing made there',
    async () => {
      await converge(storageHandler, ctx(), storage());
      const elsewhere = outside();
      fs.symlinkSync(elsewhere, host.path('snapshots'));
      const result = cli('snapshot', 'create', 'data');
      expect(result).toMatchObject({
        status: 3,
        stderr: expect.stringContaining(
          `refusing to use the hoststore directory ${host.path('snapshots')}: it is a symlink (to ${elsewhere})`,
        ),
      });
      oneLine(result.stderr);
      expect(fs.readdirSync(elsewhere)).toEqual([]);
    },
  );

  hostTest('mkfs.ext4')('a symlink deeper on the way (snapshots/disks) is refused by the path check too', async () => {
    await converge(storageHandler, ctx(), storage());
    const elsewhere = outside();
    fs.mkdirSync(host.path('snapshots'), { mode: 0o700 });
    fs.symlinkSync(elsewhere, host.path('snapshots', 'disks'));
    const result = cli('snapshot', 'create', 'data');
    expect(result).toMatchObject({
      status: 3,
      stderr: expect.stringContaining(`${host.path('snapshots', 'disks')}: it is a symlink (to ${elsewhere})`),
    });
    expect(fs.readdirSync(elsewhere)).toEqual([]);
  });
});

describe('who may change the root', () => {
  test.each([
    ['the root, writable by others', '', 0o777, 0],
    ['the root, owned by nobody', '', 0o755, NOBODY],
    ['registry/, writable by group', 'registry', 0o775, 0],
    ['registry/, owned by nobody', 'registry', 0o700, NOBODY],
    ['disks/, writable by others', 'disks', 0o777, 0],
  ])('%s: refused naming the path, its owner and mode, and the fix', (_what, dir, mode, owner) => {
    if (process.getuid?.() !== 0) return;
    // GIVEN a root (or one of its directories) that someone other than root could change
    const target = dir ? host.path(dir) : host.root;
    if (dir) fs.mkdirSync(target);
    fs.chmodSync(target, mode);
    fs.chownSync(target, owner, owner);
    // WHEN a change is attempted
    const result = hoststore(
      ['handle', 'storage', 'converge'],
      storageWire(host.root, { kind: 'directory', name: 'files', size_gb: '', filesystem: '' }),
    );
    // THEN it is refused in one line, and nothing was made
    const ownerText = owner === 0 ? 'root (uid 0)' : `nobody (uid ${NOBODY})`;
    const why = owner === 0 ? 'is writable by group or others' : 'is not owned by root';
    expect(result).toMatchObject({
      status: 3,
      stderr: `hoststore: refusing to use ${dir ? 'the hoststore directory' : 'the hoststore root'} ${target}: it ${why} (owner ${ownerText}, mode ${mode.toString(8).padStart(4, '0')}), so someone other than root could change what hoststore trusts; fix: chown root:root ${target} && chmod go-w ${target}\n`,
    });
    expect(fs.existsSync(host.path('registry', 'storage.json'))).toBe(false);
    expect(fs.existsSync(host.path('projects'))).toBe(false);
    // AND read commands, which open the registry, refuse it too
    expect(cli('list')).toMatchObject({
      status: 3,
      stderr: expect.stringContaining(`chown root:root ${target} && chmod go-w ${target}`),
    });
  });

  test('an ancestor of the root owned by another user is refused; a root-owned sticky one (/tmp) is fine', () => {
    if (process.getuid?.() !== 0) return;
    const theirs = outside();
    fs.chmodSync(theirs, 0o755);
    fs.chownSync(theirs, NOBODY, NOBODY);
    const root = path.join(theirs, 'root');
    const result = hoststore(
      ['handle', 'storage', 'converge'],
      storageWire(root, { kind: 'directory', name: 'files', size_gb: '', filesystem: '' }),
    );
    expect(result).toMatchObject({
      status: 3,
      stderr: expect.stringContaining(
        `refusing to use the root's ancestor ${theirs}: it is not owned by root (owner nobody (uid ${NOBODY}), mode 0755)`,
      ),
    });
    oneLine(result.stderr);
    expect(fs.existsSync(root)).toBe(false);
    // The fixture's own root lives in /tmp (root-owned, sticky, 1777) and works.
    expect(fs.statSync(os.tmpdir()).mode & 0o1777).toBe(0o1777);
    expect(
      hoststore(
        ['handle', 'storage', 'converge'],
        storageWire(host.root, { kind: 'directory', name: 'files', size_gb: '', filesystem: '' }),
      ).status,
    ).toBe(0);
  });

  hostTest('mkfs.ext4')(
    'what hoststore makes has tight modes; only the way to the services is readable by others',
    async () => {
      await converge(storageHandler, ctx(), storage());
      await converge(mountHandler, ctx(), mount());
      await converge(storageHandler, ctx(), storage({ kind: 'volume', name: 'shared', shared: 'true' }));
      await converge(mountHandler, ctx(), mount({ storage: 'shared', storage_kind: 'volume', mount_path: '/shared' }));
      const mode = (p: string) => (fs.statSync(host.path(p)).mode & 0o7777).toString(8);
      expect({
        registry: mode('registry'),
        storageJson: mode('registry/storage.json'),
        disks: mode('disks'),
        image: mode('disks/data.img'),
        projects: mode('projects'),
        project: mode('projects/app'),
        volumes: mode('projects/app/volumes'),
        services: mode('projects/app/services'),
        staging: mode('staging'),
        stagingProject: mode('staging/projects/app'),
      }).toEqual({
        registry: '700',
        storageJson: '600',
        disks: '700',
        image: '600',
        projects: '755',
        project: '755',
        volumes: '700',
        services: '755',
        staging: '700',
        stagingProject: '700',
      });
    },
  );
});

describe('--root obeys the root rule', () => {
  test.each([
    [['--root', '/'], {}, '--root "/"'],
    [['--root', '/tmp'], {}, '--root "/tmp"'],
    [[], { HOSTSTORE_ROOT: '/var' }, 'HOSTSTORE_ROOT "/var"'],
    [['--root', 'relative'], {}, '--root "relative"'],
  ])('%p %p: exit 2 in one line, nothing created', (args, env, named) => {
    const made = ['/registry', '/tmp/registry', '/var/registry'].filter((p) => !fs.existsSync(p));
    try {
      const result = hoststore(['lease', 'break', 'x', '--yes', ...args], undefined, env);
      expect(result).toMatchObject({
        status: 2,
        stderr: expect.stringMatching(
          new RegExp(`^hoststore: ${named.replace(/[/"]/g, '\\$&')} is not a usable hoststore root: it must `),
        ),
      });
      oneLine(result.stderr);
      expect(made.filter((p) => fs.existsSync(p))).toEqual([]);
    } finally {
      // Only what this test would have made (today's code made /registry).
      for (const p of made) fs.rmSync(p, { recursive: true, force: true });
    }
  });
});

describe('snapshot layout', () => {
  hostTest('mkfs.ext4')(
    'new snapshots go to the layout path; one under the earlier layout is still found, verified, restored and deleted',
    async () => {
      await converge(storageHandler, ctx(), storage());
      const taken = JSON.parse(cli('snapshot', 'create', 'data', '--json').stdout);
      const current = snapshotPath(host.root, 'disk', 'app', 'data', taken.id);
      expect(taken.path).toBe(current);
      expect(fs.existsSync(current)).toBe(true);
      // GIVEN it is moved where earlier builds put snapshots
      const legacy = legacySnapshotPath(host.root, 'disk', 'app', 'data', taken.id);
      expect(legacy).toBe(host.path('snapshots', 'disk--data', `${taken.id}.img`));
      fs.mkdirSync(path.dirname(legacy), { mode: 0o700 });
      fs.renameSync(current, legacy);
      // THEN it is found there
      expect(cli('snapshot', 'list')).toMatchObject({
        status: 0,
        stdout: expect.stringMatching(new RegExp(`${taken.id}.*ok`)),
      });
      expect(cli('snapshot', 'restore', taken.id, '--to', 'copy')).toMatchObject({ status: 0 });
      expect(fs.existsSync(imagePath(host.root, 'disk', 'app', 'copy'))).toBe(true);
      expect(cli('snapshot', 'delete', taken.id)).toMatchObject({ status: 0 });
      expect(fs.existsSync(legacy)).toBe(false);
    },
  );
});
