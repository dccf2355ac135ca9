/**
 * Disks on a host whose filesystem lies on a device with 4 KiB logical sectors (a 4Kn disk, or a root on a
 * loop device with 4 KiB sectors). For direct I/O the kernel gives such an image's loop device 4 KiB
 * sectors, and xfs refuses to mount a filesystem made with 512-byte sectors there ("device supports 4096
 * byte sectors (not 512)"): new xfs disks are made with 4 KiB sectors, and a disk made before still
 * attaches (buffered, as the kernel must) and mounts. The 4 KiB host is simulated by a loop device with
 * 4 KiB sectors holding an ext4 filesystem, under the test's root.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import type { Filesystem } from '../../src/schema.js';
import { GiB, createSparseImage } from '../../provider/host/image.js';
import { formatImage } from '../../provider/host/filesystem.js';
import { filesystemSectorSize } from '../../provider/host/fs-sector-size.js';
import { attachLoop, detachLoop } from '../../provider/host/loop.js';
import { mountDevice, safeMountTarget, unmount } from '../../provider/host/mounts.js';
import {
  hostLoopsUnder,
  hostMountsUnder,
  hostTest,
  makeHostFixture,
  type HostFixture,
} from '../helpers/host-fixture.js';

const sysQueue = (device: string, file: string) =>
  fs.readFileSync(`/sys/block/${device.replace(/^\/dev\//, '')}/${file}`, 'utf8').trim();

let host: HostFixture;
/** Undone in reverse order after each test, before the fixture's own cleanup: the inner disks first. */
let undo: Array<() => void> = [];
beforeEach(() => {
  host = makeHostFixture();
  undo = [];
});
afterEach(() => {
  const root = host.root;
  for (const step of undo.reverse()) {
    try {
      step();
    } catch {
      /* the fixture's cleanup retries what is left */
    }
  }
  host.cleanup();
  expect(hostLoopsUnder(root)).toEqual([]);
  expect(hostMountsUnder(root)).toEqual([]);
});

/** A directory on an ext4 filesystem whose device has 4 KiB logical sectors. */
function fourKibHostDirectory(): string {
  const backing = host.path('4k-host.img');
  execFileSync('truncate', ['-s', '2G', backing]);
  const device = execFileSync('losetup', ['--find', '--show', '--direct-io=on', '--sector-size', '4096', backing], {
    encoding: 'utf8',
  }).trim();
  undo.push(() => execFileSync('losetup', ['--detach', device]));
  expect(sysQueue(device, 'queue/logical_block_size')).toBe('4096');
  execFileSync('mkfs.ext4', ['-q', '-F', device]);
  const dir = host.path('4k-host');
  fs.mkdirSync(dir);
  execFileSync('mount', [device, dir]);
  undo.push(() => execFileSync('umount', [dir]));
  return dir;
}

/** Attaches and mounts `image` as the handlers do; returns the loop device's sector size and direct-I/O state. */
async function attachAndMount(image: string, filesystem: Filesystem): Promise<{ sector: string; directIo: boolean }> {
  const { device, directIo } = await attachLoop(image);
  undo.push(() => execFileSync('losetup', ['--detach', device]));
  const sector = sysQueue(device, 'queue/logical_block_size');
  const target = `${image}.mnt`;
  fs.mkdirSync(target);
  await mountDevice(device, await safeMountTarget(host.root, target), filesystem, { readOnly: false });
  undo.push(() => execFileSync('umount', [target]));
  fs.writeFileSync(`${target}/probe`, 'data');
  await unmount(target);
  undo.pop();
  await detachLoop(device);
  undo.pop();
  return { sector, directIo };
}

hostTest('mkfs.xfs', 'losetup')('a new xfs disk mounts on a 4 KiB-sector host, with direct I/O', async () => {
  // GIVEN an xfs image made by hoststore on a host filesystem with 4 KiB sectors
  const image = `${fourKibHostDirectory()}/new.img`;
  await createSparseImage(image, GiB);
  await formatImage(image, 'xfs', 'new');
  // WHEN it is attached and mounted THEN it mounts, on a direct-I/O loop device with 4 KiB sectors
  const got = await attachAndMount(image, 'xfs');
  expect(got).toEqual({ sector: '4096', directIo: true });
});

hostTest('mkfs.xfs', 'losetup')(
  'an xfs disk made with 512-byte sectors (by hoststore before) still mounts on a 4 KiB-sector host',
  async () => {
    // GIVEN an xfs image as the code before made it: mkfs.xfs's default for a file, 512-byte sectors
    const image = `${fourKibHostDirectory()}/old.img`;
    await createSparseImage(image, GiB);
    execFileSync('mkfs.xfs', ['-q', '-f', '-K', '-L', 'old', image]);
    expect(execFileSync('xfs_db', ['-r', '-c', 'sb 0', '-c', 'p sectsize', image], { encoding: 'utf8' })).toMatch(
      /sectsize = 512/,
    );
    // WHEN it is attached and mounted THEN it mounts, with 512-byte sectors (buffered: direct I/O on a
    // 4 KiB device cannot serve 512-byte requests)
    expect(await attachAndMount(image, 'xfs')).toEqual({ sector: '512', directIo: false });
  },
);

hostTest(
  'mkfs.xfs',
  'mkfs.btrfs',
  'losetup',
)('ext4 and btrfs disks mount on a 4 KiB-sector host with direct I/O', async () => {
  const dir = fourKibHostDirectory();
  for (const filesystem of ['ext4', 'btrfs'] as const) {
    const image = `${dir}/${filesystem}.img`;
    await createSparseImage(image, GiB);
    await formatImage(image, filesystem, filesystem);
    expect(await attachAndMount(image, filesystem)).toEqual({ sector: '4096', directIo: true });
  }
});

hostTest('mkfs.xfs', 'losetup')(
  'on this host, an xfs disk of either sector size attaches with direct I/O and mounts',
  async () => {
    const sector = sysQueue(
      execFileSync('findmnt', ['-n', '-o', 'SOURCE', '--target', host.root], { encoding: 'utf8' }).trim(),
      'queue/logical_block_size',
    );
    if (sector !== '512') return; // the host itself has 4 KiB sectors: the tests above cover it
    for (const size of ['512', '4096']) {
      const image = host.path(`xfs-${size}.img`);
      await createSparseImage(image, GiB);
      execFileSync('mkfs.xfs', ['-q', '-f', '-K', '-s', `size=${size}`, image]);
      expect((await attachAndMount(image, 'xfs')).directIo).toBe(true);
    }
  },
);

hostTest('mkfs.xfs', 'mkfs.btrfs')('the sector size is read from the superblock of each filesystem', async () => {
  const made: Record<string, number | undefined> = {};
  for (const filesystem of ['ext4', 'xfs', 'btrfs'] as const) {
    const image = host.path(`${filesystem}.img`);
    await createSparseImage(image, GiB);
    await formatImage(image, filesystem, filesystem);
    made[filesystem] = filesystemSectorSize(image);
  }
  const old = host.path('old-xfs.img');
  await createSparseImage(old, GiB);
  execFileSync('mkfs.xfs', ['-q', '-f', '-K', old]);
  made['xfs made before'] = filesystemSectorSize(old);
  const empty = host.path('empty.img');
  await createSparseImage(empty, GiB);
  made.empty = filesystemSectorSize(empty);
  made.missing = filesystemSectorSize(host.path('missing.img'));
  expect(made).toEqual({
    ext4: 4096,
    xfs: 4096,
    btrfs: 4096,
    'xfs made before': 512,
    empty: undefined,
    missing: undefined,
  });
});
