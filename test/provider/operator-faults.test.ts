/**
 * Faults an unlucky operator meets, tried for real on the built CLI: registry records changed by hand,
 * a full root, a pool create killed after its mount. Each failure is one line with the fix, and nothing
 * is left half made.
 */
import * as fs from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  hostLoopsUnder,
  hostMountsUnder,
  hostTest,
  simulateReboot,
  makeHostFixture,
  type HostFixture,
} from '../helpers/host-fixture.js';
import { mountWire, storageWire } from '../helpers/specs.js';
import { CLI, hoststore, hoststoreAsync } from '../helpers/cli.js';

const fixtures: HostFixture[] = [];
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const undo of cleanups.splice(0).reverse()) undo();
  for (const f of fixtures.splice(0)) f.cleanup();
});

function oneLine(stderr: string): void {
  expect(stderr).not.toMatch(/internal error|\n\s+at /);
  expect(stderr.trim().split('\n')).toHaveLength(1);
}

describe('a registry record changed by hand', () => {
  // GIVEN a root with a mounted disk, WHEN one record of a collection is replaced by null (or a bare value,
  // or loses a field that names it), THEN every command that reads it says which file and record, in one line.
  const cases: Array<[string, string, unknown, string[][]]> = [
    ['storage', 'disk_data', null, [['list'], ['status', 'data'], ['up']]],
    ['storage', 'disk_data', { kind: 'disk' }, [['list'], ['up']]],
    ['mounts', 'x', null, [['list'], ['up']]],
    ['leases', 'data', 7, [['lease-list']]],
    ['policies', 'x', { project: 'app', policy: 'p', storage: 'data', schedule: [1] }, [['snapshot', 'run-due']]],
    ['snapshots', 'x', null, [['snapshot', 'list']]],
  ];
  hostTest()('is refused in one line naming the file and the record, exit 1', () => {
    const host = makeHostFixture('hoststore-opfault-');
    fixtures.push(host);
    expect(hoststore(['handle', 'storage', 'converge'], storageWire(host.root)).status).toBe(0);
    expect(hoststore(['handle', 'mount', 'converge'], mountWire(host.root)).status).toBe(0);
    for (const [collection, key, record, commands] of cases) {
      const file = host.path('registry', `${collection}.json`);
      const before = fs.existsSync(file) ? fs.readFileSync(file) : undefined;
      const parsed = before ? JSON.parse(before.toString()) : { version: 1, records: {} };
      parsed.records[key] = record;
      fs.writeFileSync(file, JSON.stringify(parsed), { mode: 0o600 });
      for (const args of commands) {
        const result = hoststore([...args, '--root', host.root], undefined, { HOSTSTORE_CRON_DIR: host.path('cron') });
        expect({ collection, args, status: result.status }).toEqual({ collection, args, status: 1 });
        oneLine(result.stderr);
        expect(result.stderr).toContain(file);
        expect(result.stderr).toContain(JSON.stringify(key));
      }
      if (before) fs.writeFileSync(file, before);
      else fs.rmSync(file);
    }
    // A registry file replaced by a directory.
    const file = host.path('registry', 'storage.json');
    const before = fs.readFileSync(file);
    fs.rmSync(file);
    fs.mkdirSync(file);
    for (const args of [['list'], ['up']]) {
      const result = hoststore([...args, '--root', host.root]);
      expect({ args, status: result.status }).toEqual({ args, status: 1 });
      oneLine(result.stderr);
      expect(result.stderr).toContain(`${file} is a directory`);
    }
    fs.rmdirSync(file);
    fs.writeFileSync(file, before, { mode: 0o600 });
  });
});

describe('a full root', () => {
  // GIVEN a root on a small filesystem of its own holding a disk, WHEN that filesystem is filled to the last
  // block, THEN a change fails in one line saying which file could not be written and to free space, leaves
  // no lock temporary behind and no loop device or mount attached.
  hostTest('mkfs.ext4')('fails in one line with the fix and leaves nothing behind', () => {
    const host = makeHostFixture('hoststore-opfull-');
    fixtures.push(host);
    const image = host.path('rootfs.img');
    const root = host.path('root');
    execFileSync('truncate', ['-s', '24M', image]);
    execFileSync('mkfs.ext4', ['-q', '-m', '0', image]);
    fs.mkdirSync(root, { mode: 0o700 });
    execFileSync('mount', ['-o', 'loop', image, root]);
    fs.chmodSync(root, 0o700);
    fs.rmdirSync(`${root}/lost+found`);
    expect(hoststore(['handle', 'storage', 'converge'], storageWire(root)).status).toBe(0);
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${root}/filler`, 'bs=1k'], { stdio: 'ignore' });
    } catch {
      /* dd stops at ENOSPC: the root is full */
    }
    const runs = [
      hoststore(['handle', 'mount', 'converge'], mountWire(root)),
      hoststore(['snapshot', 'create', 'data', '--root', root]),
      hoststore(['handle', 'storage', 'converge'], storageWire(root, { name: 'more' })),
    ];
    for (const result of runs) {
      expect(result.status).toBe(1);
      oneLine(result.stderr);
      expect(result.stderr).toMatch(/is full \(ENOSPC|\bis full\b/);
      expect(result.stderr).toMatch(/free space/i);
    }
    expect(fs.readdirSync(`${root}/registry`).filter((n) => n.startsWith('lock'))).toEqual([]);
    expect(hostMountsUnder(`${root}/projects`)).toEqual([]);
    expect(hostLoopsUnder(root)).toEqual([]);
  });
});

describe('a pool create killed after its mount', () => {
  // GIVEN the state `pool create` leaves when killed between mounting the pool and marking its loop device
  // autoclear (the pool file formatted, attached without autoclear, mounted), WHEN the operator runs
  // `pool create` again (or `hoststore up`), THEN the pool is finished as a whole create would have left it:
  // nodatacow at its top, and a loop device that frees itself when the pool is unmounted.
  const killedAfterMount = (host: HostFixture) => {
    const root = host.path('pool');
    const file = `${root}.pool.img`;
    fs.mkdirSync(root, { mode: 0o755 });
    execFileSync('truncate', ['-s', '2G', file]);
    fs.chmodSync(file, 0o600);
    execFileSync('mkfs.btrfs', ['-q', '-f', '-K', '-L', 'hoststore-pool', file], { stdio: 'ignore' });
    const device = execFileSync('losetup', ['--find', '--show', '--direct-io=on', file], { encoding: 'utf8' }).trim();
    execFileSync('mount', ['-t', 'btrfs', '-o', 'nosuid,nodev,noatime,discard=async', device, root]);
    return { root, device };
  };
  const autoclear = (device: string) =>
    fs.readFileSync(`/sys/block/${device.slice('/dev/'.length)}/loop/autoclear`, 'utf8').trim();

  for (const how of ['pool create', 'up'] as const) {
    hostTest(
      'mkfs.btrfs',
      'chattr',
      'lsattr',
    )(`is finished by ${how}: the loop device goes with the unmount`, () => {
      const host = makeHostFixture('hoststore-oppool-');
      fixtures.push(host);
      const { root, device } = killedAfterMount(host);
      expect(autoclear(device)).toBe('0');
      const result =
        how === 'up'
          ? hoststore(['up', '--root', root])
          : hoststore(['pool', 'create', '--root', root, '--size-gb', '2']);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(autoclear(device)).toBe('1');
      if (how === 'pool create')
        expect(execFileSync('lsattr', ['-d', root], { encoding: 'utf8' })).toMatch(/^\S*C\S*\s/);
      execFileSync('umount', [root]);
      expect(hostLoopsUnder(host.root)).toEqual([]);
    });
  }
});

describe('a snapshot killed while the filesystem is frozen', () => {
  // GIVEN a mounted disk holding data enough for a sparse copy of a second or more, WHEN `hoststore snapshot
  // create` is killed with SIGKILL while the filesystem is frozen (no finally runs), THEN the filesystem is
  // thawed anyway: writers of the application do not hang until someone runs fsfreeze --unfreeze by hand.
  hostTest('fsfreeze')(
    'leaves the filesystem thawed',
    async () => {
      const host = makeHostFixture('hoststore-opfreeze-');
      fixtures.push(host);
      expect(hoststore(['handle', 'storage', 'converge'], storageWire(host.root)).status).toBe(0);
      const wire = mountWire(host.root);
      expect(hoststore(['handle', 'mount', 'converge'], wire).status).toBe(0);
      cleanups.push(() => void spawnSync('fsfreeze', ['--unfreeze', wire.host_path]));
      for (let i = 0; i < 4; i += 1) fs.writeFileSync(`${wire.host_path}/payload-${i}`, randomBytes(48 << 20));
      execFileSync('sync');
      const { child, done } = hoststoreAsync(['snapshot', 'create', 'data', '--root', host.root]);
      let stderr = '';
      child.stdout.on('data', (d) => (stderr += d));
      child.stderr.on('data', (d) => (stderr += d));
      for (let waited = 0; !stderr.includes('freezing') && waited < 20_000; waited += 20)
        await new Promise((r) => setTimeout(r, 20));
      expect(stderr).toContain('freezing');
      await new Promise((r) => setTimeout(r, 150));
      child.kill('SIGKILL');
      await done;
      await new Promise((r) => setTimeout(r, 600));
      // Frozen or not, without blocking on it: a second freeze fails with EBUSY only on a frozen filesystem.
      const probe = spawnSync('fsfreeze', ['--freeze', wire.host_path], { encoding: 'utf8' });
      if (probe.status === 0) spawnSync('fsfreeze', ['--unfreeze', wire.host_path]);
      expect(probe.stderr).not.toMatch(/busy/i);
      expect(probe.status).toBe(0);
    },
    60_000,
  );
});

describe('a pool root after a reboot, before hoststore up', () => {
  // GIVEN a root on a pool holding a mounted disk, WHEN the host reboots (every mount and loop device gone,
  // the pool too), THEN plan, list, status, lease-list and snapshot list say to run hoststore up first,
  // rather than showing the bare directory under the pool (no storage; a plan creating everything anew).
  hostTest('mkfs.btrfs')('reads refuse the bare directory and name hoststore up', () => {
    const host = makeHostFixture('hoststore-oppoolboot-');
    fixtures.push(host);
    const root = host.path('pool');
    expect(hoststore(['pool', 'create', '--root', root, '--size-gb', '2']).status).toBe(0);
    expect(hoststore(['handle', 'storage', 'converge'], storageWire(root)).status).toBe(0);
    expect(hoststore(['handle', 'mount', 'converge'], mountWire(root)).status).toBe(0);
    const app = host.path('app');
    fs.mkdirSync(app);
    execFileSync(process.execPath, [`${CLI.replace(/provider\/cli\.js$/, '')}examples/main.js`], {
      cwd: app,
      env: { ...process.env, HOSTSTORE_ROOT: root },
      stdio: 'ignore',
    });
    // The reboot: everything under the root, then the pool itself (its loop device frees itself).
    execFileSync('umount', [host.path('pool', 'projects', 'app', 'services', 'web', '1', 'data')]);
    for (const device of hostLoopsUnder(root)) execFileSync('losetup', ['--detach', device]);
    execFileSync('umount', [root]);
    // plan takes its roots from the synth output (and no --root: an option a command does not take is refused).
    const runs = [
      ['list', '--root', root],
      ['status', 'data', '--root', root],
      ['lease-list', '--root', root],
      ['snapshot', 'list', '--root', root],
      ['plan', '--app', `${app}/cdktf.out`],
    ];
    for (const args of runs) {
      const result = hoststore(args);
      expect({ args, status: result.status }).toEqual({ args, status: 3 });
      oneLine(result.stderr);
      expect(result.stderr).toContain(`run hoststore up --root ${root} first`);
    }
  });
});

describe('a snapshot of a filesystem someone else froze', () => {
  // GIVEN a mounted disk frozen by another tool (fsfreeze --freeze, as a backup script does), WHEN a
  // snapshot of it is asked for, THEN it fails in one line saying so and leaves the other tool's freeze
  // alone (it ran fsfreeze --unfreeze after its own freeze failed, ending a freeze that was not its own).
  hostTest('fsfreeze')('fails in one line and does not thaw it', () => {
    const host = makeHostFixture('hoststore-opfrozen-');
    fixtures.push(host);
    expect(hoststore(['handle', 'storage', 'converge'], storageWire(host.root)).status).toBe(0);
    const wire = mountWire(host.root);
    expect(hoststore(['handle', 'mount', 'converge'], wire).status).toBe(0);
    cleanups.push(() => void spawnSync('fsfreeze', ['--unfreeze', wire.host_path]));
    execFileSync('fsfreeze', ['--freeze', wire.host_path]);
    const result = hoststore(['snapshot', 'create', 'data', '--root', host.root]);
    expect(result.status).toBe(1);
    oneLine(result.stderr);
    expect(result.stderr).toContain('already frozen');
    // Still frozen: a second freeze fails with EBUSY only on a frozen filesystem.
    const probe = spawnSync('fsfreeze', ['--freeze', wire.host_path], { encoding: 'utf8' });
    if (probe.status === 0) spawnSync('fsfreeze', ['--unfreeze', wire.host_path]);
    expect(probe.stderr).toMatch(/busy/i);
  });
});

describe('a lock file changed by hand', () => {
  // GIVEN a root whose lock file holds JSON that is no holder (null, a number, an array, a string), WHEN a
  // change runs, THEN the lock is judged stale like unreadable content and broken: the change goes through
  // (it printed an internal error with a stack for null).
  hostTest()('that names no holder is broken as stale', () => {
    const host = makeHostFixture('hoststore-oplock-');
    fixtures.push(host);
    expect(
      hoststore(
        ['handle', 'storage', 'converge'],
        storageWire(host.root, { kind: 'directory', size_gb: '', filesystem: '' } as never),
      ).status,
    ).toBe(0);
    for (const content of ['null', '5', '[1]', '"x"']) {
      fs.writeFileSync(host.path('registry', 'lock'), content, { mode: 0o600 });
      const result = hoststore(
        ['handle', 'storage', 'converge'],
        storageWire(host.root, { kind: 'directory', size_gb: '', filesystem: '' } as never),
        { HOSTSTORE_LOCK_TIMEOUT_MS: '2000' },
      );
      expect({ content, stderr: result.stderr, status: result.status }).toEqual({ content, stderr: '', status: 0 });
      expect(fs.existsSync(host.path('registry', 'lock'))).toBe(false);
    }
  });
});

describe('hoststore up after a reboot with an image deleted by hand', () => {
  // GIVEN a mounted disk, WHEN the host reboots and its image is deleted before `hoststore up`, THEN up
  // says which image is missing and what to do (it printed losetup's "No such file or directory").
  hostTest()('names the missing image and the way out', () => {
    const host = makeHostFixture('hoststore-opupgone-');
    fixtures.push(host);
    expect(hoststore(['handle', 'storage', 'converge'], storageWire(host.root)).status).toBe(0);
    expect(hoststore(['handle', 'mount', 'converge'], mountWire(host.root)).status).toBe(0);
    simulateReboot(host.root);
    fs.rmSync(host.path('disks', 'data.img'));
    const result = hoststore(['up', '--root', host.root]);
    expect(result.status).toBe(1);
    oneLine(result.stderr);
    expect(result.stderr).toContain(`${host.path('disks', 'data.img')} is missing`);
    expect(result.stderr).toContain('hoststore delete data --yes');
    expect(hostLoopsUnder(host.root)).toEqual([]);
  });
});
