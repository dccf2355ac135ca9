import * as fs from 'node:fs';
import { GiB, createSparseImage, growImage } from '../../provider/host/image.js';
import {
  attachLoop,
  detachLoop,
  loopBackingFile,
  loopDirectIo,
  loopsFor,
  orphanLoopsFor,
  refreshLoopCapacity,
} from '../../provider/host/loop.js';
import { formatImage } from '../../provider/host/filesystem.js';
import { mountDevice, safeMountTarget, unmount } from '../../provider/host/mounts.js';
import { run } from '../../provider/exec.js';
import { hostLoopsUnder, hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';

/** A block device's size from /sys, read by the test itself. */
function blockDeviceSizeBytes(device: string): number {
  return Number(fs.readFileSync(`/sys/block/${device.replace(/^\/dev\//, '')}/size`, 'utf8').trim()) * 512;
}

let host: HostFixture;
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(() => {
  const root = host.root;
  host.cleanup();
  expect(hostLoopsUnder(root)).toEqual([]);
});

hostTest('losetup')('attach uses direct I/O; the device is found from /sys by its image, then detached', async () => {
  const image = host.path('a.img');
  await createSparseImage(image, GiB);
  expect(loopsFor(image)).toEqual([]);
  const { device, directIo } = await attachLoop(image);
  expect(device).toMatch(/^\/dev\/loop\d+$/);
  expect(directIo).toBe(true);
  expect(loopDirectIo(device)).toBe(true);
  expect(loopBackingFile(device)).toBe(image);
  expect(loopsFor(image)).toEqual([device]);
  expect(hostLoopsUnder(host.root)).toEqual([device]);
  expect(blockDeviceSizeBytes(device)).toBe(GiB);
  await detachLoop(device);
  expect(loopsFor(image)).toEqual([]);
  expect(loopBackingFile(device)).toBeUndefined();
  await detachLoop(device); // already free: succeeds
});

hostTest('losetup')('loopsFor resolves symlinks to the image', async () => {
  fs.mkdirSync(host.path('real'));
  fs.symlinkSync(host.path('real'), host.path('via'));
  await createSparseImage(host.path('real', 'a.img'), GiB);
  const { device } = await attachLoop(host.path('via', 'a.img'));
  expect(loopsFor(host.path('real', 'a.img'))).toEqual([device]);
  expect(loopsFor(host.path('via', 'a.img'))).toEqual([device]);
});

hostTest('losetup')('a read-only attachment refuses writes', async () => {
  const image = host.path('ro.img');
  await createSparseImage(image, GiB);
  const { device } = await attachLoop(image, { readOnly: true });
  expect(fs.readFileSync(`/sys/block/${device.slice(5)}/ro`, 'utf8').trim()).toBe('1');
  let fd: number | undefined;
  try {
    expect(() => {
      fd = fs.openSync(device, 'r+');
      fs.writeSync(fd, Buffer.alloc(4096), 0, 4096, 0);
    }).toThrow(/EROFS|EACCES|EPERM/);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
});

hostTest('losetup')('a device still holding a deleted image is an orphan, not the new image at that path', async () => {
  // GIVEN an attached image that is then deleted and re-created at the same path
  const image = host.path('d.img');
  await createSparseImage(image, GiB);
  const { device } = await attachLoop(image);
  fs.rmSync(image);
  expect(loopBackingFile(device)).toBe(`${image} (deleted)`);
  await createSparseImage(image, GiB);
  // THEN the new image has no device, and the old one is reported as an orphan
  expect(loopsFor(image)).toEqual([]);
  expect(orphanLoopsFor(image)).toEqual([device]);
  await detachLoop(device);
  expect(orphanLoopsFor(image)).toEqual([]);
});

hostTest('losetup', 'mkfs.ext4')(
  'refreshLoopCapacity shows a grown image; detaching a mounted device is reported, not silently deferred',
  async () => {
    const image = host.path('c.img');
    await createSparseImage(image, GiB);
    await formatImage(image, 'ext4', 'c');
    const { device } = await attachLoop(image);
    await growImage(image, 2 * GiB);
    expect(blockDeviceSizeBytes(device)).toBe(GiB);
    await refreshLoopCapacity(device);
    expect(blockDeviceSizeBytes(device)).toBe(2 * GiB);
    const target = await safeMountTarget(host.root, host.path('m'));
    await mountDevice(device, target, 'ext4', { readOnly: false });
    await expect(detachLoop(device)).rejects.toThrow(/still in use \(mounted\?\)/);
    await unmount(target);
    // The kernel frees an auto-clear device on release.
    for (let i = 0; i < 50 && loopBackingFile(device) !== undefined; i += 1)
      await new Promise((r) => setTimeout(r, 20));
    expect(loopBackingFile(device)).toBeUndefined();
  },
);

hostTest('losetup')(
  'on a backing filesystem that refuses O_DIRECT (ramfs) it attaches buffered and says so',
  async () => {
    // GIVEN an image on ramfs, which has no O_DIRECT
    const dir = await safeMountTarget(host.root, host.path('ramfs'));
    await run('mount', ['-t', 'ramfs', 'hoststore-test', dir]);
    const image = `${dir}/r.img`;
    await createSparseImage(image, 64 * 1024 * 1024);
    // WHEN attached
    const { device, directIo } = await attachLoop(image);
    // THEN it is attached once, without direct I/O
    expect(directIo).toBe(false);
    expect(loopDirectIo(device)).toBe(false);
    expect(loopsFor(image)).toEqual([device]);
    await detachLoop(device);
  },
);
