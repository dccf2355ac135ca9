/**
 * `hoststore pool`: a root on a real btrfs filesystem in a real sparse pool file on real loop devices.
 * The pool's mount is the root itself, which the fixture's cleanup never unmounts (a root that is a mount
 * is the caller's), so each test releases the pool itself: what is mounted on it, then the pool.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { readMountTable } from '../../provider/host/mounts.js';
import { cleanupRoot, hostLoopsUnder, hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { mountWire, storageWire } from '../helpers/specs.js';
import { hoststore } from '../helpers/cli.js';

let host: HostFixture;
let poolRoot: string;
let poolFile: string;
beforeEach(() => {
  host = makeHostFixture();
  poolRoot = host.path('pool');
  poolFile = `${poolRoot}.pool.img`;
});
afterEach(() => {
  try {
    releasePool();
  } finally {
    host.cleanup();
  }
});

const pool = (...args: string[]) => hoststore(['pool', ...args, '--root', poolRoot]);
const mountOf = (target: string) =>
  readMountTable()
    .filter((e) => e.target === target)
    .pop();
const loopsOfPool = () =>
  execFileSync('losetup', ['--list', '--raw', '--noheadings', '-O', 'NAME,BACK-FILE'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.endsWith(` ${poolFile}`))
    .map((l) => l.split(' ')[0]);

/**
 * What a reboot does to a pool root, in the order that works: mounts on the pool and their loop devices
 * (whose files are on the pool), then the pool's mount and its loop device. Files are kept.
 */
function releasePool(): void {
  if (!fs.existsSync(poolRoot)) return;
  cleanupRoot(poolRoot, { keepFiles: true });
  for (let attempt = 0; attempt < 3 && mountOf(poolRoot); attempt += 1)
    execFileSync('umount', [poolRoot], { stdio: 'ignore' });
  for (const device of loopsOfPool()) execFileSync('losetup', ['--detach', device], { stdio: 'ignore' });
  if (mountOf(poolRoot)) throw new Error(`test cleanup could not unmount the pool at ${poolRoot}`);
}

/** A disk of 2 GB holding a file, mounted for app/web on the pool root, through the CLI as Terraform runs it. */
function diskOnPool(): string {
  expect(hoststore(['handle', 'storage', 'converge'], storageWire(poolRoot, { size_gb: '2' }))).toMatchObject({
    status: 0,
  });
  expect(hoststore(['handle', 'mount', 'converge'], mountWire(poolRoot))).toMatchObject({ status: 0 });
  const dir = mountWire(poolRoot).host_path;
  fs.writeFileSync(path.join(dir, 'f'), 'kept');
  return dir;
}

hostTest('mkfs.btrfs')(
  'pool create makes the root a btrfs mount of a sparse, root-only pool file on a direct-I/O loop; again is a no-op',
  () => {
    const made = pool('create', '--size-gb', '3');
    expect(made).toMatchObject({
      status: 0,
      stdout: expect.stringMatching(
        /pool of 3 GiB in .*pool\.pool\.img \(btrfs, direct I\/O, nodatacow\); snapshots here are reflinks/,
      ),
    });
    // THEN the pool file is beside the root, sparse, root-owned 0600
    const stat = fs.statSync(poolFile);
    expect({ size: stat.size, mode: stat.mode & 0o777, uid: stat.uid }).toEqual({
      size: 3 * 1024 ** 3,
      mode: 0o600,
      uid: 0,
    });
    expect(stat.blocks * 512).toBeLessThan(100 * 1024 ** 2);
    // AND the root is a btrfs mount, nosuid,nodev, from one loop device on the pool file, in direct-I/O mode
    const entry = mountOf(poolRoot);
    expect(entry).toMatchObject({ fstype: 'btrfs' });
    expect(entry!.options.split(',')).toEqual(expect.arrayContaining(['nosuid', 'nodev']));
    const loops = loopsOfPool();
    expect(loops).toEqual([entry!.source]);
    expect(fs.readFileSync(`/sys/block/${path.basename(loops[0])}/loop/dio`, 'utf8').trim()).toBe('1');
    // AND status says so
    const status = JSON.parse(pool('status', '--json').stdout);
    expect(status).toMatchObject({
      root: poolRoot,
      file: poolFile,
      sizeBytes: 3 * 1024 ** 3,
      mounted: true,
      directIo: true,
      nodatacow: true,
      reflink: true,
    });
    expect(status.freeBytes).toBeGreaterThan(2 * 1024 ** 3);
    expect(status.allocatedBytes).toBe(stat.blocks * 512);
    expect(pool('status').stdout).toMatch(/snapshots:\s+reflink/);
    // WHEN created again: nothing changes
    expect(pool('create', '--size-gb', '3')).toMatchObject({
      status: 0,
      stdout: expect.stringMatching(/already a pool of 3 GiB/),
    });
    expect(loopsOfPool()).toEqual(loops);
    // AND another size is refused, not a resize
    expect(pool('create', '--size-gb', '5')).toMatchObject({
      status: 3,
      stderr: expect.stringMatching(/^hoststore: .* is already a pool of 3 GiB .*does not resize pools.*\n$/),
    });
    expect(fs.statSync(poolFile).size).toBe(3 * 1024 ** 3);
    // AND unmounting the pool alone frees its loop device (autoclear), as removing a pool by hand does
    execFileSync('umount', [poolRoot]);
    expect(loopsOfPool()).toEqual([]);
  },
);

hostTest('mkfs.btrfs')(
  'a disk on a pool root is snapshotted as a reflink, frozen briefly; on the host filesystem it is a full copy',
  () => {
    expect(pool('create', '--size-gb', '4').status).toBe(0);
    diskOnPool();
    const taken = hoststore(['snapshot', 'create', 'data', '--json', '--root', poolRoot]);
    expect(taken.status).toBe(0);
    const record = JSON.parse(taken.stdout);
    expect(record).toMatchObject({ method: 'reflink', storage: 'data' });
    expect(record.frozenMs).toBeLessThan(5000);
    expect(hoststore(['snapshot', 'list', '--root', poolRoot])).toMatchObject({
      status: 0,
      stdout: expect.stringMatching(/reflink\s.*\sok/),
    });
    // The same on the fixture's own root (the host filesystem, ext4 here) is a copy: the pool is what made the difference.
    expect(hoststore(['handle', 'storage', 'converge'], storageWire(host.root, { size_gb: '2' }))).toMatchObject({
      status: 0,
    });
    const onHost = hoststore(['snapshot', 'create', 'data', '--json', '--root', host.root]);
    expect(JSON.parse(onHost.stdout)).toMatchObject({ method: 'sparse-copy' });
  },
);

hostTest('mkfs.btrfs')('after a reboot, up mounts the pool first, then the disks on it; again it is a no-op', () => {
  expect(pool('create', '--size-gb', '3').status).toBe(0);
  const dir = diskOnPool();
  // WHEN the host reboots: every mount and loop device is gone, the pool root is an empty directory
  releasePool();
  expect([mountOf(poolRoot), loopsOfPool(), fs.readdirSync(poolRoot)]).toEqual([undefined, [], []]);
  expect(pool('status')).toMatchObject({
    status: 1,
    stdout: expect.stringMatching(/mounted:\s+no \(run hoststore up --root \S+ to mount it\)/),
  });
  // THEN a change before up (Terraform run first) is refused and writes nothing into the bare directory
  expect(hoststore(['handle', 'storage', 'converge'], storageWire(poolRoot, { name: 'other' }))).toMatchObject({
    status: 3,
    stderr: expect.stringMatching(
      /^hoststore: the root .* lives on the pool .*, which is not mounted .*run hoststore up --root .* first\n$/,
    ),
  });
  expect(fs.readdirSync(poolRoot)).toEqual([]);
  // THEN up brings the pool back, then the disk, with its data
  const up = hoststore(['up', '--root', poolRoot]);
  expect(up).toMatchObject({
    status: 0,
    stdout: expect.stringMatching(
      /pool .*pool\.pool\.img mounted from \/dev\/loop\d+\n(.|\n)*up: 1 of 1 mounts in place/,
    ),
  });
  expect(mountOf(poolRoot)).toMatchObject({ fstype: 'btrfs' });
  expect(fs.readFileSync(path.join(dir, 'f'), 'utf8')).toBe('kept');
  expect(hostLoopsUnder(poolRoot)).toHaveLength(1);
  // AND a second up changes nothing
  const loops = loopsOfPool();
  expect(hoststore(['up', '--root', poolRoot])).toMatchObject({
    status: 0,
    stdout: expect.stringMatching(/already mounted/),
  });
  expect(loopsOfPool()).toEqual(loops);
  // AND pool create on the rebooted root mounts the existing pool instead of formatting it
  releasePool();
  expect(pool('create', '--size-gb', '3')).toMatchObject({
    status: 0,
    stdout: expect.stringMatching(/mounting the existing pool file/),
  });
  expect(fs.existsSync(path.join(poolRoot, 'registry'))).toBe(true);
});

hostTest('mkfs.btrfs')('up refuses to mount the pool over a root directory that was written while it was away', () => {
  expect(pool('create', '--size-gb', '3').status).toBe(0);
  diskOnPool();
  releasePool();
  fs.writeFileSync(path.join(poolRoot, 'stray'), 'x');
  expect(hoststore(['up', '--root', poolRoot])).toMatchObject({
    status: 3,
    stderr: expect.stringMatching(/^hoststore: pool .* cannot be mounted at .*: the directory is not empty .*\n$/),
  });
  expect([mountOf(poolRoot), loopsOfPool()]).toEqual([undefined, []]);
});

hostTest('mkfs.btrfs')(
  'refusals change nothing: a non-empty directory, a directory that is a mount, a planted pool file, bad sizes',
  () => {
    // A non-empty directory
    fs.mkdirSync(poolRoot);
    fs.writeFileSync(path.join(poolRoot, 'data'), 'x');
    expect(pool('create', '--size-gb', '3')).toMatchObject({
      status: 3,
      stderr: expect.stringMatching(/^hoststore: refusing to make a pool at .*: the directory is not empty.*\n$/),
    });
    expect(fs.existsSync(poolFile)).toBe(false);
    fs.rmSync(path.join(poolRoot, 'data'));
    // A directory that is already a mount (not a pool)
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0755', 'tmpfs', poolRoot]);
    host.trackMount(poolRoot);
    expect(pool('create', '--size-gb', '3')).toMatchObject({
      status: 3,
      stderr: expect.stringMatching(
        /^hoststore: refusing to make a pool at .*: it is already a mount \(tmpfs from tmpfs\).*\n$/,
      ),
    });
    expect(fs.existsSync(poolFile)).toBe(false);
    execFileSync('umount', [poolRoot]);
    // A pool file someone else could have written (not root's) is never formatted or mounted
    fs.writeFileSync(poolFile, '');
    fs.truncateSync(poolFile, 3 * 1024 ** 3);
    fs.chownSync(poolFile, 1000, 1000);
    expect(pool('create', '--size-gb', '3')).toMatchObject({
      status: 3,
      stderr: expect.stringMatching(/^hoststore: refusing pool file .*: owner uid 1000, mode 0\d{3}, 1 link\(s\).*\n$/),
    });
    // up ignores it (not a pool hoststore made: anyone may create that name beside a root in /tmp) and mounts nothing
    expect(hoststore(['up', '--root', poolRoot])).toMatchObject({
      status: 0,
      stdout: expect.stringMatching(/ignoring .*owned by uid 1000, so it is not a pool/),
    });
    expect(mountOf(poolRoot)).toBeUndefined();
    // A root-owned pool file that holds no filesystem is not formatted either
    fs.chownSync(poolFile, 0, 0);
    fs.chmodSync(poolFile, 0o600);
    expect(pool('create', '--size-gb', '3')).toMatchObject({
      status: 3,
      stderr: expect.stringMatching(/holds no btrfs filesystem/),
    });
    expect([mountOf(poolRoot), loopsOfPool(), fs.statSync(poolFile).blocks]).toEqual([undefined, [], 0]);
    fs.rmSync(poolFile);
    // Sizes: missing, not a whole number, out of range, more than the host has
    expect(pool('create')).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(
        /^hoststore: required option '--size-gb <n>' not specified for pool create; usage: hoststore pool create \[options\]\n$/,
      ),
    });
    expect(pool('create', '--size-gb', '1.5')).toMatchObject({
      status: 2,
      stderr: 'hoststore: --size-gb must be a whole number of GiB from 1 to 1048576 (got 1.5)\n',
    });
    expect(pool('create', '--size-gb', '0')).toMatchObject({
      status: 2,
      stderr: 'hoststore: --size-gb must be a whole number of GiB from 1 to 1048576 (got 0)\n',
    });
    expect(pool('create', '--size-gb', '1000000')).toMatchObject({
      status: 3,
      stderr: expect.stringMatching(/GiB free; pick --size-gb of at most \d+\n$/),
    });
    expect([fs.existsSync(poolFile), mountOf(poolRoot), loopsOfPool()]).toEqual([false, undefined, []]);
    // And a pool status where there is none says how to make one
    expect(pool('status')).toMatchObject({
      status: 1,
      stderr: expect.stringMatching(/has no pool .*hoststore pool create --size-gb N --root \S+\n$/),
    });
  },
);

hostTest('mkfs.btrfs')('a create that fails after mounting unmounts, detaches and removes everything it made', () => {
  // GIVEN the real tools, but a chattr (which the create runs once the pool is mounted) that fails
  const tools = host.path('tools');
  fs.mkdirSync(tools);
  for (const tool of ['mkfs.btrfs', 'losetup', 'mount', 'umount', 'blkid', 'cp', 'lsattr']) {
    fs.symlinkSync(
      execFileSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(),
      path.join(tools, tool),
    );
  }
  fs.writeFileSync(path.join(tools, 'chattr'), '#!/bin/sh\necho "chattr: simulated failure" >&2\nexit 1\n', {
    mode: 0o755,
  });
  const failed = hoststore(['pool', 'create', '--root', poolRoot, '--size-gb', '3'], undefined, {
    HOSTSTORE_TOOL_PATH: tools,
  });
  expect(failed).toMatchObject({
    status: 1,
    stderr: expect.stringMatching(/^hoststore: chattr failed: chattr: simulated failure\n/),
  });
  // THEN nothing is left: no mount, no loop device, no pool file, no root directory
  expect([mountOf(poolRoot), loopsOfPool(), fs.existsSync(poolFile), fs.existsSync(poolRoot)]).toEqual([
    undefined,
    [],
    false,
    false,
  ]);
  // AND a missing tool is named before anything is made
  fs.rmSync(path.join(tools, 'chattr'));
  expect(
    hoststore(['pool', 'create', '--root', poolRoot, '--size-gb', '3'], undefined, { HOSTSTORE_TOOL_PATH: tools }),
  ).toMatchObject({
    status: 1,
    stderr:
      "hoststore: chattr is not installed, so hoststore cannot make a btrfs pool; install the Debian package 'e2fsprogs' (apt-get install e2fsprogs)\n",
  });
  expect([fs.existsSync(poolFile), fs.existsSync(poolRoot)]).toEqual([false, false]);
});
