import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Filesystem } from '../../src/schema.js';
import { GiB, createSparseImage, growImage, imageStat } from '../../provider/host/image.js';
import {
  LABEL_MAX,
  OnlineGrowUnsupported,
  formatImage,
  growFilesystemOffline,
  growFilesystemOnline,
  labelFor,
} from '../../provider/host/filesystem.js';
import { attachLoop, refreshLoopCapacity } from '../../provider/host/loop.js';
import { mountAt, mountDevice, remount, safeMountTarget, unmount } from '../../provider/host/mounts.js';
import { run } from '../../provider/exec.js';
import { readFilesystemSignature } from '../../provider/host/fs-signature.js';
import {
  hostLoopsUnder,
  hostMountsUnder,
  hostTest,
  makeHostFixture,
  type HostFixture,
} from '../helpers/host-fixture.js';

const MKFS: Record<Filesystem, string> = { ext4: 'mkfs.ext4', xfs: 'mkfs.xfs', btrfs: 'mkfs.btrfs' };
const GROW_TOOL: Record<Filesystem, string> = { ext4: 'resize2fs', xfs: 'xfs_growfs', btrfs: 'btrfs' };

/** The filesystem blkid finds on an image or device (a witness independent of hoststore's own reader). */
async function blkidType(pathOrDevice: string): Promise<string | undefined> {
  const { stdout, exitCode } = await run('blkid', ['-p', '-o', 'value', '-s', 'TYPE', pathOrDevice], {
    allowExitCodes: [2],
  });
  return exitCode === 2 ? undefined : stdout.trim();
}

/** Size of a mounted filesystem as the kernel reports it (statfs). */
function filesystemSizeBytes(mountpoint: string): number {
  const stat = fs.statfsSync(mountpoint);
  return stat.blocks * stat.bsize;
}

let host: HostFixture;
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(() => {
  const root = host.root;
  host.cleanup();
  expect(hostLoopsUnder(root)).toEqual([]);
  expect(hostMountsUnder(root)).toEqual([]);
});

describe.each(['ext4', 'xfs', 'btrfs'] as const)('%s', (filesystem) => {
  const hostFsTest = hostTest(MKFS[filesystem], GROW_TOOL[filesystem], 'blkid', 'losetup');

  hostFsTest('a 500 GB sparse image formats fast, stays thin and is recognised by blkid', async () => {
    const image = host.path('big.img');
    await createSparseImage(image, 500 * GiB);
    const started = performance.now();
    await formatImage(image, filesystem, 'a-storage-name-longer-than-any-label');
    const ms = performance.now() - started;
    const { allocatedBytes } = imageStat(image)!;
    process.stdout.write(
      `${filesystem}: mkfs of a 500 GB sparse image ${ms.toFixed(0)} ms, ${(allocatedBytes / 2 ** 20).toFixed(1)} MiB allocated\n`,
    );
    expect(ms).toBeLessThan(5000);
    expect(allocatedBytes).toBeLessThan(64 * 2 ** 20);
    expect(await blkidType(image)).toBe(filesystem);
    expect(readFilesystemSignature(image)).toBe(filesystem);
    const { stdout } = await run('blkid', ['-p', '-o', 'value', '-s', 'LABEL', image]);
    expect(stdout.trim()).toBe(labelFor(filesystem, 'a-storage-name-longer-than-any-label'));
    expect(stdout.trim().length).toBe(Math.min(LABEL_MAX[filesystem], 'a-storage-name-longer-than-any-label'.length));
  });

  hostFsTest(
    'attach (direct I/O), mount, write, grow with the data intact; read-only mount refuses writes',
    async () => {
      // GIVEN a formatted 1 GiB image mounted through a direct-I/O loop device, with data on it
      const image = host.path('disk.img');
      await createSparseImage(image, GiB);
      await formatImage(image, filesystem, 'disk');
      const { device, directIo } = await attachLoop(image);
      expect(directIo).toBe(true);
      expect(await blkidType(device)).toBe(filesystem);
      const target = await safeMountTarget(host.root, host.path('staging', 'disk'));
      await mountDevice(device, target, filesystem, { readOnly: false });
      expect(mountAt(target)).toMatchObject({ source: device, fstype: filesystem, readOnly: false });
      const payload = Buffer.alloc(8 * 2 ** 20);
      for (let i = 0; i < payload.length; i += 4) payload.writeUInt32LE((i * 2654435761) >>> 0, i);
      fs.writeFileSync(path.join(target, 'data.bin'), payload);
      const before = filesystemSizeBytes(target);

      // WHEN the image grows to 3 GiB and the filesystem follows (online; ext4 offline where refused)
      await growImage(image, 3 * GiB);
      await refreshLoopCapacity(device);
      let how = 'online';
      try {
        await growFilesystemOnline(filesystem, device, target);
      } catch (error) {
        if (!(error instanceof OnlineGrowUnsupported) || filesystem !== 'ext4') throw error;
        how = 'offline';
        await unmount(target);
        await growFilesystemOffline(filesystem, device);
        await mountDevice(device, target, filesystem, { readOnly: false });
      }
      process.stdout.write(`${filesystem}: grew ${how}\n`);

      // THEN it is bigger and the data is intact
      const after = filesystemSizeBytes(target);
      expect(after).toBeGreaterThan(before + 1.5 * GiB);
      expect(fs.readFileSync(path.join(target, 'data.bin')).equals(payload)).toBe(true);
      if (filesystem !== 'ext4') expect(how).toBe('online');

      // AND a read-only remount refuses writes but reads the data
      await remount(target, { readOnly: true, bind: false });
      expect(mountAt(target)?.readOnly).toBe(true);
      expect(() => fs.writeFileSync(path.join(target, 'new'), 'x')).toThrow(/EROFS/);
      expect(fs.readFileSync(path.join(target, 'data.bin')).equals(payload)).toBe(true);
      await unmount(target);

      // AND a fresh read-only mount does too
      await mountDevice(device, target, filesystem, { readOnly: true });
      expect(mountAt(target)?.readOnly).toBe(true);
      expect(() => fs.writeFileSync(path.join(target, 'new'), 'x')).toThrow(/EROFS/);
      await unmount(target);
    },
  );

  if (filesystem === 'ext4') {
    hostFsTest(
      'online resize2fs that the kernel refuses is an OnlineGrowUnsupported; an unmounted image grows offline',
      async () => {
        const image = host.path('e.img');
        await createSparseImage(image, GiB);
        await formatImage(image, 'ext4', 'e');
        fs.writeFileSync(host.path('marker'), 'x');
        await growImage(image, 2 * GiB);
        await growFilesystemOffline('ext4', image);
        const { device } = await attachLoop(image);
        const target = await safeMountTarget(host.root, host.path('m'));
        await mountDevice(device, target, 'ext4', { readOnly: false });
        expect(filesystemSizeBytes(target)).toBeGreaterThan(1.8 * GiB);
        await growImage(image, 3 * GiB);
        await refreshLoopCapacity(device);
        try {
          await growFilesystemOnline('ext4', device, target);
          process.stdout.write('ext4: online resize2fs was permitted on this kernel\n');
          expect(filesystemSizeBytes(target)).toBeGreaterThan(2.8 * GiB);
        } catch (error) {
          expect(error).toBeInstanceOf(OnlineGrowUnsupported);
          expect((error as OnlineGrowUnsupported).cause.stderr).toMatch(/Permission denied|not permitted/);
        }
      },
    );
  } else {
    hostFsTest('offline grow is refused: it only grows while mounted', async () => {
      await expect(growFilesystemOffline(filesystem, host.path('x.img'))).rejects.toThrow(
        `${filesystem} can only grow while mounted`,
      );
    });
  }
});

hostTest()('the signature reader sees no filesystem in an empty image or one holding other bytes', async () => {
  const image = host.path('empty.img');
  await createSparseImage(image, 64 * 2 ** 20);
  expect(readFilesystemSignature(image)).toBeUndefined();
  fs.writeFileSync(image, Buffer.alloc(128 * 1024, 0x5a));
  expect(readFilesystemSignature(image)).toBeUndefined();
});

hostTest(
  'mkfs.xfs',
  'filefrag',
  'fallocate',
)('xfs gives back its preallocated log unless asked not to', async () => {
  const thin = host.path('thin.img');
  const fat = host.path('fat.img');
  await createSparseImage(thin, 500 * GiB);
  await createSparseImage(fat, 500 * GiB);
  await formatImage(thin, 'xfs', 'thin');
  await formatImage(fat, 'xfs', 'fat', { thin: false });
  expect(imageStat(fat)!.allocatedBytes).toBeGreaterThan(100 * 2 ** 20);
  expect(imageStat(thin)!.allocatedBytes).toBeLessThan(8 * 2 ** 20);
  // The punched image is still a consistent filesystem.
  await run('xfs_repair', ['-n', thin]);
});
