/**
 * Attacks on the merged fixes of issue 9 (§1 root as trust boundary, §2 who owns storage, §6 keys and
 * ids) that got through: each reproduced on a real root with real images, loop devices and mounts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mountAt } from '../../provider/host/mounts.js';
import { Registry, mountKey, type MountRecord } from '../../provider/registry/store.js';
import { imagePath, replicaHostPath } from '../../src/schema.js';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { mountWire, storageWire } from '../helpers/specs.js';
import { hoststore } from '../helpers/cli.js';

let host: HostFixture;
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(() => {
  host.cleanup();
});

const handle = (kind: string, op: string, spec: unknown, stack?: string) =>
  hoststore(['handle', kind, op], spec, stack === undefined ? {} : { HOSTSTORE_STACK: stack });

describe('a second stack of the same project declaring the same mount point', () => {
  const hostPath = () => replicaHostPath(host.root, 'app', 'db', 1, '/data');
  const mountRecord = () => new Registry(host.root).get<MountRecord>('mounts', mountKey('app', 'db', 1, '/data'));

  /** Stack web creates disk pg and mounts it for db replica 1 at /data, with a file in it. */
  function deployWeb(): void {
    expect(handle('storage', 'converge', storageWire(host.root, { name: 'pg', stack: 'web' }))).toMatchObject({
      status: 0,
    });
    expect(
      handle('mount', 'converge', mountWire(host.root, { storage: 'pg', service: 'db', stack: 'web' })),
    ).toMatchObject({ status: 0 });
    fs.writeFileSync(path.join(hostPath(), 'PG_VERSION'), '16');
  }

  hostTest()("borrows it: its converge leaves the mount web's, and its destroy does not unmount web's data", () => {
    // GIVEN stack web's disk pg mounted for db at /data
    deployWeb();
    // WHEN stack jobs of the same project declares the same Disk and the same Mount (a copy of the stack)
    expect(handle('storage', 'converge', storageWire(host.root, { name: 'pg', stack: 'jobs' }))).toMatchObject({
      status: 0,
    });
    expect(
      handle('mount', 'converge', mountWire(host.root, { storage: 'pg', service: 'db', stack: 'jobs' })),
    ).toMatchObject({ status: 0 });
    // THEN the mount stays web's (no flip of its owner to jobs)
    expect(mountRecord()?.stack).toBe('web');
    // WHEN stack jobs is destroyed (its delete provisioners run with HOSTSTORE_STACK=jobs)
    const unmounted = handle(
      'mount',
      'delete',
      mountWire(host.root, { storage: 'pg', service: 'db', stack: 'jobs' }),
      'jobs',
    );
    expect(unmounted.status).toBe(0);
    expect(handle('storage', 'delete', storageWire(host.root, { name: 'pg', stack: 'jobs' }), 'jobs')).toMatchObject({
      status: 0,
    });
    // THEN web's mount, its record, its lease and its data are all still there
    expect(mountAt(hostPath())).toBeDefined();
    expect(fs.readFileSync(path.join(hostPath(), 'PG_VERSION'), 'utf8')).toBe('16');
    expect(mountRecord()?.stack).toBe('web');
    expect(new Registry(host.root).lease('pg')).toMatchObject({ project: 'app', service: 'db', replica: 1 });
    expect(unmounted.stdout).toMatch(/stack web/);
  });

  hostTest()("mounting other storage there is refused, naming the stack that has it, and web's mount stays", () => {
    deployWeb();
    // WHEN stack jobs mounts its own disk evil at the same service, replica and path
    expect(handle('storage', 'converge', storageWire(host.root, { name: 'evil', stack: 'jobs' }))).toMatchObject({
      status: 0,
    });
    const hijack = handle('mount', 'converge', mountWire(host.root, { storage: 'evil', service: 'db', stack: 'jobs' }));
    // THEN it is refused in one line naming web, and db still sees pg's data
    expect(hijack.status).toBe(3);
    expect(hijack.stderr).toMatch(/stack web/);
    expect(hijack.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(fs.readFileSync(path.join(hostPath(), 'PG_VERSION'), 'utf8')).toBe('16');
    expect(mountRecord()).toMatchObject({ stack: 'web', storage: 'pg' });
  });
});

describe('a mount inside another mount', () => {
  const data = () => replicaHostPath(host.root, 'app', 'db', 1, '/data');

  hostTest()(
    "a second stack mounting below another stack's mount is refused, and nothing is made inside the owner's data",
    () => {
      // GIVEN stack web's disk pg mounted for db at /data; db's own user owns what is inside (and could put
      // a symlink to /etc where hoststore would mount next, between its check and mount(8))
      expect(handle('storage', 'converge', storageWire(host.root, { name: 'pg', stack: 'web' }))).toMatchObject({
        status: 0,
      });
      expect(
        handle('mount', 'converge', mountWire(host.root, { storage: 'pg', service: 'db', stack: 'web' })),
      ).toMatchObject({ status: 0 });
      fs.chownSync(data(), 65534, 65534);
      // WHEN stack jobs of the same project mounts its disk at /data/x of the same replica
      expect(handle('storage', 'converge', storageWire(host.root, { name: 'evil', stack: 'jobs' }))).toMatchObject({
        status: 0,
      });
      const nested = handle(
        'mount',
        'converge',
        mountWire(host.root, { storage: 'evil', service: 'db', stack: 'jobs', mount_path: '/data/x' }),
      );
      // THEN it is refused in one line naming the mount it would lie in, and pg's filesystem is untouched
      expect(nested.status).toBe(3);
      expect(nested.stderr).toMatch(/inside .*\/data.*stack web/);
      expect(nested.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      expect(fs.existsSync(path.join(data(), 'x'))).toBe(false);
    },
  );

  hostTest()("a second stack mounting above another stack's mount (hiding it) is refused", () => {
    expect(handle('storage', 'converge', storageWire(host.root, { name: 'pg', stack: 'web' }))).toMatchObject({
      status: 0,
    });
    expect(
      handle(
        'mount',
        'converge',
        mountWire(host.root, { storage: 'pg', service: 'db', stack: 'web', mount_path: '/srv/data' }),
      ),
    ).toMatchObject({ status: 0 });
    expect(handle('storage', 'converge', storageWire(host.root, { name: 'evil', stack: 'jobs' }))).toMatchObject({
      status: 0,
    });
    const above = handle(
      'mount',
      'converge',
      mountWire(host.root, { storage: 'evil', service: 'db', stack: 'jobs', mount_path: '/srv' }),
    );
    expect(above.status).toBe(3);
    expect(above.stderr).toMatch(/\/srv\/data.*stack web/);
    expect(mountAt(replicaHostPath(host.root, 'app', 'db', 1, '/srv'))).toBeUndefined();
  });
});

describe('a snapshot record edited by hand', () => {
  const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

  hostTest()(
    "restore --in-place copies the snapshot the layout names, never a file its record's `path` points at",
    () => {
      // GIVEN disk data (unmounted) with a snapshot, and a file outside the root someone wants copied in
      expect(handle('storage', 'converge', storageWire(host.root))).toMatchObject({ status: 0 });
      const image = imagePath(host.root, 'disk', 'app', 'data');
      const id = JSON.parse(hoststore(['snapshot', 'create', 'data', '--json', '--root', host.root]).stdout)
        .id as string;
      const before = sha(image);
      const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-outside-'));
      try {
        const secret = path.join(outside, 'secret.img');
        fs.writeFileSync(secret, Buffer.alloc(1024 * 1024, 7));
        // WHEN a careless edit of the registry points the snapshot record's path at it
        const file = path.join(host.root, 'registry', 'snapshots.json');
        const registry = JSON.parse(fs.readFileSync(file, 'utf8'));
        registry.records[id].path = secret;
        fs.writeFileSync(file, JSON.stringify(registry));
        const restored = hoststore(['snapshot', 'restore', id, '--in-place', '--yes', '--root', host.root]);
        // THEN the restore reads the real snapshot: the disk holds what it held, not the outside file
        expect(restored.stderr).toBe('');
        expect(restored.status).toBe(0);
        expect(sha(image)).not.toBe(sha(secret));
        expect(sha(image)).toBe(before);
      } finally {
        fs.rmSync(outside, { recursive: true, force: true });
      }
    },
  );
});

describe('a second stack of the same project declaring the same snapshot policy', () => {
  const policyWire = (stack: string, retentionCount: string) => ({
    root: host.root,
    project: 'app',
    policy: 'nightly',
    storage: 'data',
    storage_kind: 'disk',
    stack,
    schedule: '0 4 * * *',
    retention_days: '',
    retention_count: retentionCount,
  });
  const record = () =>
    new Registry(host.root).list<{ stack: string; retentionCount?: number }>('policies').map((e) => e.record);
  const policyHandle = (op: string, spec: unknown, stack?: string) =>
    hoststore(['handle', 'snapshot-policy', op], spec, {
      HOSTSTORE_CRON_DIR: path.join(host.root, 'cron.d'),
      ...(stack ? { HOSTSTORE_STACK: stack } : {}),
    });

  hostTest()("cannot shorten the owner's retention, and its destroy leaves the owner's policy and cron entry", () => {
    // GIVEN stack web's disk data with policy nightly keeping 30 snapshots
    expect(handle('storage', 'converge', storageWire(host.root, { stack: 'web' }))).toMatchObject({ status: 0 });
    expect(policyHandle('converge', policyWire('web', '30'))).toMatchObject({ status: 0 });
    // WHEN stack jobs of the same project declares policy nightly on data keeping 1
    const shortened = policyHandle('converge', policyWire('jobs', '1'));
    // THEN it is refused in one line naming stack web; web's policy is as it was
    expect(shortened.status).toBe(3);
    expect(shortened.stderr).toMatch(/stack web/);
    expect(shortened.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(record()).toEqual([expect.objectContaining({ stack: 'web', retentionCount: 30 })]);
    // WHEN stack jobs declares the same policy as web's, then is destroyed
    expect(policyHandle('converge', policyWire('jobs', '30'))).toMatchObject({ status: 0 });
    expect(record()).toEqual([expect.objectContaining({ stack: 'web' })]);
    expect(policyHandle('delete', policyWire('jobs', '30'), 'jobs')).toMatchObject({ status: 0 });
    // THEN web's policy and its cron entry stay: web's snapshots keep being taken
    expect(record()).toEqual([expect.objectContaining({ stack: 'web', retentionCount: 30 })]);
    expect(fs.readdirSync(path.join(host.root, 'cron.d')).filter((f) => !f.includes('.'))).toHaveLength(1);
  });

  hostTest()(
    'one policy name on a volume and a directory of one name (one key) is refused, not merged into one record',
    () => {
      // GIVEN stack web's volume data with policy nightly, and stack jobs' directory data in the same project
      expect(handle('storage', 'converge', storageWire(host.root, { kind: 'volume', stack: 'web' }))).toMatchObject({
        status: 0,
      });
      expect(policyHandle('converge', { ...policyWire('web', '30'), storage_kind: 'volume' })).toMatchObject({
        status: 0,
      });
      expect(
        handle(
          'storage',
          'converge',
          storageWire(host.root, { kind: 'directory', stack: 'jobs', size_gb: '', filesystem: '' } as never),
        ),
      ).toMatchObject({ status: 0 });
      // WHEN jobs declares policy nightly (same values) on its directory data
      const same = policyHandle('converge', { ...policyWire('jobs', '30'), storage_kind: 'directory' });
      // THEN it is refused: one record cannot stand for two policies (the directory would get no snapshots)
      expect(same.status).toBe(3);
      expect(same.stderr).toMatch(/volume data/);
      expect(record()).toEqual([expect.objectContaining({ stack: 'web', storageKind: 'volume' })]);
    },
  );
});

describe('names given on the command line', () => {
  hostTest()(
    'snapshot restore --to a name the rules refuse (a/b) is refused in one line, and the registry stays readable',
    () => {
      expect(handle('storage', 'converge', storageWire(host.root))).toMatchObject({ status: 0 });
      const id = JSON.parse(hoststore(['snapshot', 'create', 'data', '--json', '--root', host.root]).stdout)
        .id as string;
      const restored = hoststore(['snapshot', 'restore', id, '--to', 'a/b', '--root', host.root]);
      expect(restored.status).toBe(2);
      expect(restored.stderr).toMatch(/--to/);
      expect(restored.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      expect(fs.existsSync(path.join(host.root, 'disks', 'a'))).toBe(false);
      expect(hoststore(['list', '--root', host.root])).toMatchObject({ status: 0 });
    },
  );
});

describe('what a holder of a mount says about itself', () => {
  let child: ChildProcess | undefined;
  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGKILL');
      await gone;
    }
    child = undefined;
  });

  hostTest('setpriv')(
    'a holder naming itself with a newline and escape codes cannot forge lines of the refusal',
    async () => {
      // GIVEN a mounted disk, and a process of another user with its cwd in it that renamed itself
      expect(handle('storage', 'converge', storageWire(host.root))).toMatchObject({ status: 0 });
      expect(handle('mount', 'converge', mountWire(host.root))).toMatchObject({ status: 0 });
      const data = replicaHostPath(host.root, 'app', 'web', 1, '/data');
      const name = 'x\nhoststore: \u001b[2Jok';
      child = spawn(
        'setpriv',
        [
          '--reuid=65534',
          '--regid=65534',
          '--clear-groups',
          process.execPath,
          '-e',
          `require('fs').writeFileSync('/proc/self/comm', ${JSON.stringify(name)}); console.log('ready'); setInterval(() => {}, 1000)`,
        ],
        { cwd: data, stdio: ['ignore', 'pipe', 'ignore'] },
      );
      await new Promise((resolve) => child!.stdout!.once('data', resolve));
      // WHEN the disk is grown (online ext4 resize is refused here, so it would have to unmount)
      const grown = handle('storage', 'converge', storageWire(host.root, { size_gb: '2' }));
      // THEN the refusal is one line naming the holder, with its name's control characters escaped
      expect(grown.status).toBe(3);
      expect(grown.stderr).toMatch(new RegExp(`pid ${child.pid} `));
      expect(grown.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      expect(grown.stderr).not.toMatch(/\u001b/);
    },
  );
});

describe("the pool file's name beside a root in a directory anyone can write", () => {
  hostTest()(
    'a file another user planted at <root>.pool.img is not a pool: it blocks neither changes nor hoststore up',
    () => {
      // GIVEN a root in /tmp (sticky: others cannot touch the root, but can create names beside it)
      const planted = `${host.root}.pool.img`;
      try {
        execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'touch', planted]);
        expect(fs.statSync(planted).uid).toBe(65534);
        // WHEN storage is converged and hoststore up runs
        const created = handle('storage', 'converge', storageWire(host.root));
        const up = hoststore(['up', '--root', host.root]);
        // THEN both work as on a root without a pool, and the planted file is neither mounted nor touched
        expect(created.stderr).toBe('');
        expect(created.status).toBe(0);
        expect(up.status).toBe(0);
        expect(up.stdout).toMatch(/not a pool/);
        expect(fs.statSync(planted).size).toBe(0);
      } finally {
        fs.rmSync(planted, { force: true });
      }
    },
  );
});

describe('deleting a directory volume whose content a service still reaches', () => {
  /**
   * A process inside the tree (as a container's own bind of the directory, which unmounting on the host
   * does not take away) swaps subdirectories for symlinks to a victim directory while hoststore deletes.
   * A race: each round sweeps thousands of subdirectories; Node's path-walking rm lost it about one round
   * in three here, GNU rm (by descriptor) never.
   */
  function race(tree: string, victim: string, seconds: number): ChildProcess {
    const script = [
      'import os, sys, time',
      'tree, victim, end = sys.argv[1], sys.argv[2], time.time() + float(sys.argv[3])',
      'i = 1',
      'while time.time() < end:',
      '    d = os.path.join(tree, "d%d" % i)',
      '    try:',
      '        os.rename(d, d + ".x"); os.symlink(victim, d)',
      '    except OSError:',
      '        pass',
      '    i = i % 3000 + 1',
    ].join('\n');
    return spawn('python3', ['-c', script, tree, victim, String(seconds)], { stdio: 'ignore' });
  }

  hostTest('python3')(
    'hoststore delete never follows a symlink swapped into the tree: nothing outside it is deleted',
    async () => {
      const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-victim-'));
      try {
        const victim = path.join(outside, 'victim');
        fs.mkdirSync(victim);
        for (let i = 0; i < 200; i += 1) fs.writeFileSync(path.join(victim, `v${i}`), '');
        for (let round = 1; round <= 4; round += 1) {
          // GIVEN a directory volume holding 3000 subdirectories, and the swapping process running
          const name = `files${round}`;
          expect(
            handle(
              'storage',
              'converge',
              storageWire(host.root, { kind: 'directory', name, size_gb: '', filesystem: '' } as never),
            ),
          ).toMatchObject({ status: 0 });
          const tree = path.join(host.root, 'projects', 'app', 'directories', name);
          for (let i = 1; i <= 3000; i += 1) {
            fs.mkdirSync(path.join(tree, `d${i}`));
            fs.writeFileSync(path.join(tree, `d${i}`, 'a'), '');
          }
          const attacker = race(tree, victim, 4);
          const exited = new Promise((resolve) => attacker.once('exit', resolve));
          await new Promise((r) => setTimeout(r, 200));
          // WHEN it is deleted
          hoststore(['delete', name, '--yes', '--root', host.root]);
          await exited;
          // THEN nothing in the victim directory went
          expect(fs.readdirSync(victim)).toHaveLength(200);
        }
      } finally {
        fs.rmSync(outside, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
