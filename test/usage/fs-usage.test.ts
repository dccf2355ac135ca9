/**
 * Filesystem usage inside images, on real ext4, xfs and btrfs images: mounted (statfs, exactly what
 * `df -B1` shows), unmounted (the superblock, exactly what dumpe2fs / xfs_db / btrfs dump-super record),
 * a host path showing another filesystem, and hostile images (truncated, random, forged counts, symlink).
 */
import * as fs from 'node:fs';
import * as crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import type { Filesystem } from '../../src/schema.js';
import { filesystemUsage, superblockUsage } from '../../provider/host/fs-usage.js';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';

let host: HostFixture;
beforeEach(() => {
  host = makeHostFixture('hoststore-usage-');
});
afterEach(() => host.cleanup());

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' });
const MiB = 1024 ** 2;

/** A 512 MiB image of `filesystem` under the root (xfs needs at least 300 MiB). */
function makeImage(filesystem: Filesystem, name = `${filesystem}.img`): string {
  const image = host.path(name);
  fs.writeFileSync(image, '');
  fs.truncateSync(image, 512 * MiB);
  sh(`mkfs.${filesystem}`, filesystem === 'ext4' ? ['-q', '-F', image] : ['-q', '-f', image]);
  return image;
}

/** Mounts the image (loop) at a fresh directory under the root and writes `mib` MiB of random data. */
function mountWithData(image: string, mib: number, dir = 'mnt'): string {
  const target = host.path(dir);
  fs.mkdirSync(target, { recursive: true });
  sh('mount', ['-o', 'loop', image, target]);
  fs.writeFileSync(`${target}/data.bin`, crypto.randomBytes(mib * MiB));
  sh('sync', ['-f', `${target}/data.bin`]);
  return target;
}

function df(target: string): { size: number; used: number; avail: number } {
  const [, size, used, avail] = sh('df', ['-B1', '--output=source,size,used,avail', target])
    .trim()
    .split('\n')[1]
    .trim()
    .split(/\s+/);
  return { size: Number(size), used: Number(used), avail: Number(avail) };
}

/** `Key: value` lines of dumpe2fs -h, as numbers. */
function dumpe2fs(image: string): Record<string, number> {
  const out = sh('dumpe2fs', ['-h', image]);
  return Object.fromEntries(
    out
      .split('\n')
      .map((l) => /^([A-Za-z ]+):\s+(\d+)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], Number(m[2])]),
  );
}

describe.each(['ext4', 'xfs', 'btrfs'] as const)('%s', (filesystem) => {
  hostTest(`mkfs.${filesystem}`)('mounted: statfs of its mount point, exactly what df -B1 shows', () => {
    const image = makeImage(filesystem);
    const target = mountWithData(image, 64);
    const usage = filesystemUsage(image, filesystem, [host.path('elsewhere'), target]);
    const seen = df(target);
    expect(usage).toEqual({ sizeBytes: seen.size, usedBytes: seen.used, freeBytes: seen.avail, source: 'mounted' });
    expect(usage!.usedBytes).toBeGreaterThanOrEqual(64 * MiB);
  });

  hostTest(`mkfs.${filesystem}`)('unmounted: the superblock, exactly as the filesystem tools read it', () => {
    const image = makeImage(filesystem);
    const target = mountWithData(image, 48);
    const mounted = df(target);
    sh('umount', [target]);
    const usage = filesystemUsage(image, filesystem, [target]);
    expect(usage?.source).toBe('superblock');
    if (filesystem === 'ext4') {
      const sb = dumpe2fs(image);
      const counted = sb['Block count'] - sb['Overhead clusters'];
      const delalloc = Math.min(Math.floor(sb['Block count'] / 50), 4096);
      const bs = sb['Block size'];
      expect(usage).toEqual({
        sizeBytes: counted * bs,
        usedBytes: (counted - sb['Free blocks']) * bs,
        freeBytes: (sb['Free blocks'] - sb['Reserved block count'] - delalloc) * bs,
        source: 'superblock',
      });
      // ext4 writes its counters at a clean unmount: the superblock says what df said just before.
      expect(usage).toEqual({
        sizeBytes: mounted.size,
        usedBytes: mounted.used,
        freeBytes: mounted.avail,
        source: 'superblock',
      });
    } else if (filesystem === 'xfs') {
      const printed = Object.fromEntries(
        sh('xfs_db', ['-r', '-c', 'sb 0', '-c', 'print fdblocks dblocks blocksize logstart logblocks', image])
          .trim()
          .split('\n')
          .map((l) => l.split(' = ').map((v, i) => (i === 0 ? v : Number(v)))),
      ) as Record<string, number>;
      const counted = printed.dblocks - (printed.logstart ? printed.logblocks : 0);
      expect(usage).toEqual({
        sizeBytes: counted * printed.blocksize,
        usedBytes: (counted - printed.fdblocks) * printed.blocksize,
        freeBytes: printed.fdblocks * printed.blocksize,
        source: 'superblock',
      });
      // Mounted, xfs sets aside a reserve pool (5 % of the blocks, at most 8,192) and per-AG metadata
      // reservations: df shows less free than the superblock records, by about that (allowed: 32 MiB + 2 %).
      expect(usage!.sizeBytes).toBe(mounted.size);
      expect(usage!.freeBytes - mounted.avail).toBeGreaterThanOrEqual(0);
      expect(usage!.freeBytes - mounted.avail).toBeLessThan(32 * MiB + 0.02 * mounted.size);
    } else {
      const dump = sh('btrfs', ['inspect-internal', 'dump-super', image]);
      const field = (name: string) => Number(new RegExp(`^${name}\\s+(\\d+)$`, 'm').exec(dump)![1]);
      expect(usage).toEqual({
        sizeBytes: field('total_bytes'),
        usedBytes: field('bytes_used'),
        freeBytes: field('total_bytes') - field('bytes_used'),
        source: 'superblock',
      });
      expect(usage!.usedBytes).toBeGreaterThanOrEqual(48 * MiB);
    }
  });

  hostTest(`mkfs.${filesystem}`)('a recorded filesystem that is not the one in the image: no usage', () => {
    const image = makeImage(filesystem);
    const other: Filesystem = filesystem === 'ext4' ? 'xfs' : 'ext4';
    expect(filesystemUsage(image, other, [])).toBeUndefined();
    const target = mountWithData(image, 1);
    expect(filesystemUsage(image, other, [target])).toBeUndefined();
  });
});

hostTest('mkfs.ext4')(
  'ext4 variants (1 KiB blocks without 64bit; ext2 without extents or journal): the superblock says what df said',
  () => {
    for (const [name, args] of [
      ['small.img', ['-b', '1024', '-O', '^64bit']],
      ['ext2.img', ['-t', 'ext2']],
    ] as const) {
      const image = host.path(name);
      fs.writeFileSync(image, '');
      fs.truncateSync(image, 256 * MiB);
      sh('mkfs.ext4', ['-q', '-F', ...args, image]);
      const target = mountWithData(image, 8, `mnt-${name}`);
      const mounted = df(target);
      sh('umount', [target]);
      expect(filesystemUsage(image, 'ext4', [target])).toEqual({
        sizeBytes: mounted.size,
        usedBytes: mounted.used,
        freeBytes: mounted.avail,
        source: 'superblock',
      });
    }
  },
);

hostTest('mkfs.ext4')('a host path showing another filesystem is not taken for the image', () => {
  // GIVEN an unmounted image, and its host path where someone mounted a tmpfs instead
  const image = makeImage('ext4');
  const elsewhere = makeImage('ext4', 'other.img');
  const replaced = host.path('replaced');
  fs.mkdirSync(replaced);
  sh('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', replaced]);
  const foreign = mountWithData(elsewhere, 100, 'foreign');
  // WHEN its usage is asked for at those paths
  const usage = filesystemUsage(image, 'ext4', [replaced, foreign]);
  // THEN it comes from its own superblock, not from the tmpfs or the other image
  expect(usage?.source).toBe('superblock');
  expect(usage!.usedBytes).toBeLessThan(50 * MiB);
  // AND a mount of it stacked under another mount is not the visible one: superblock again
  const target = mountWithData(image, 1, 'stacked');
  sh('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', target]);
  expect(filesystemUsage(image, 'ext4', [target])?.source).toBe('superblock');
});

describe('hostile images: no usage or sane numbers, never a crash', () => {
  const fsList = ['ext4', 'xfs', 'btrfs'] as const;

  hostTest()('missing, empty, truncated or random files', () => {
    const random = host.path('random.img');
    fs.writeFileSync(random, crypto.randomBytes(256 * 1024));
    const truncated = host.path('truncated.img');
    fs.writeFileSync(truncated, crypto.randomBytes(1500));
    const empty = host.path('empty.img');
    fs.writeFileSync(empty, '');
    for (const filesystem of fsList) {
      for (const file of [host.path('missing.img'), empty, truncated, random])
        expect(filesystemUsage(file, filesystem, [])).toBeUndefined();
    }
    expect(filesystemUsage(random, undefined, [])).toBeUndefined();
  });

  hostTest('mkfs.ext4')('a symlink, a directory or a fifo at the image path: not followed, not read', () => {
    const image = makeImage('ext4');
    const link = host.path('link.img');
    fs.symlinkSync(image, link);
    expect(filesystemUsage(link, 'ext4', [])).toBeUndefined();
    const dir = host.path('dir.img');
    fs.mkdirSync(dir);
    expect(filesystemUsage(dir, 'ext4', [])).toBeUndefined();
    const fifo = host.path('fifo.img');
    sh('mkfifo', [fifo]);
    expect(filesystemUsage(fifo, 'ext4', [])).toBeUndefined();
  });

  hostTest(
    'mkfs.ext4',
    'mkfs.xfs',
    'mkfs.btrfs',
  )('forged counts are clamped: used <= size, nothing negative', () => {
    const patch = (image: string, offset: number, write: (b: Buffer) => void, length = 8) => {
      const fd = fs.openSync(image, 'r+');
      const b = Buffer.alloc(length);
      write(b);
      fs.writeSync(fd, b, 0, length, offset);
      fs.closeSync(fd);
    };
    const sane = (u: ReturnType<typeof superblockUsage>, imageSize: number) => {
      expect(u).toBeDefined();
      expect(u!.sizeBytes).toBeLessThanOrEqual(imageSize);
      for (const n of [u!.sizeBytes, u!.usedBytes, u!.freeBytes]) expect(n).toBeGreaterThanOrEqual(0);
      expect(u!.usedBytes + u!.freeBytes).toBeLessThanOrEqual(u!.sizeBytes);
    };
    // ext4: 2^40 blocks claimed (hi half), and free blocks above the block count
    const ext4 = makeImage('ext4');
    patch(ext4, 1024 + 0x150, (b) => b.writeUInt32LE(256, 0), 4);
    sane(superblockUsage(ext4, 'ext4'), 512 * MiB);
    patch(ext4, 1024 + 0x0c, (b) => b.writeUInt32LE(0xffffffff, 0), 4);
    sane(superblockUsage(ext4, 'ext4'), 512 * MiB);
    patch(ext4, 1024 + 0x18, (b) => b.writeUInt32LE(40, 0), 4); // block size 2^50
    expect(superblockUsage(ext4, 'ext4')).toBeUndefined();
    // xfs: dblocks past 2^53, then fdblocks above dblocks
    const xfs = makeImage('xfs');
    patch(xfs, 8, (b) => b.writeBigUInt64BE(2n ** 62n));
    expect(superblockUsage(xfs, 'xfs')).toBeUndefined();
    patch(xfs, 8, (b) => b.writeBigUInt64BE(1000n));
    patch(xfs, 144, (b) => b.writeBigUInt64BE(5000n));
    sane(superblockUsage(xfs, 'xfs'), 512 * MiB);
    patch(xfs, 4, (b) => b.writeUInt32BE(3000), 4); // not a power of two
    expect(superblockUsage(xfs, 'xfs')).toBeUndefined();
    // btrfs: bytes used above the total, a total far above the image
    const btrfs = makeImage('btrfs');
    patch(btrfs, 0x10000 + 0x78, (b) => b.writeBigUInt64LE(2n ** 40n));
    const over = superblockUsage(btrfs, 'btrfs');
    sane(over, 512 * MiB);
    expect(over!.usedBytes).toBe(over!.sizeBytes);
    patch(btrfs, 0x10000 + 0x70, (b) => b.writeBigUInt64LE(2n ** 50n));
    sane(superblockUsage(btrfs, 'btrfs'), 512 * MiB);
  });
});
