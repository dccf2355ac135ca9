/**
 * The smallest I/O unit an image's filesystem issues, read from its superblock: a loop device with larger
 * logical sectors than this cannot mount it (xfs: "device supports 4096 byte sectors (not 512)").
 */
import * as fs from 'node:fs';

/** Where each filesystem keeps its magic and its sector (xfs) or block (ext4, btrfs) size. */
const LAYOUTS: ReadonlyArray<{
  magicAt: number;
  magic: Buffer;
  sizeAt: number;
  read: (b: Buffer) => number;
}> = [
  // xfs: sb_sectsize, big-endian u16
  { magicAt: 0, magic: Buffer.from('XFSB', 'ascii'), sizeAt: 102, read: (b) => b.readUInt16BE(0) },
  // ext2/3/4: 1024 << s_log_block_size, little-endian u32
  {
    magicAt: 1024 + 0x38,
    magic: Buffer.from([0x53, 0xef]),
    sizeAt: 1024 + 24,
    read: (b) => 1024 * 2 ** b.readUInt32LE(0),
  },
  // btrfs: sectorsize, little-endian u32
  { magicAt: 0x10040, magic: Buffer.from('_BHRfS_M', 'ascii'), sizeAt: 0x10090, read: (b) => b.readUInt32LE(0) },
];

/** The filesystem's sector size in bytes, or undefined when the image holds none we know (or cannot be read). */
export function filesystemSectorSize(image: string): number | undefined {
  let fd: number;
  try {
    fd = fs.openSync(image, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const buffer = Buffer.alloc(8);
    for (const layout of LAYOUTS) {
      const length = layout.magic.length;
      if (fs.readSync(fd, buffer, 0, length, layout.magicAt) !== length) continue;
      if (buffer.compare(layout.magic, 0, length, 0, length) !== 0) continue;
      if (fs.readSync(fd, buffer, 0, 4, layout.sizeAt) !== 4) return undefined;
      const size = layout.read(buffer);
      // A power of two from 512 to 64 KiB, or the superblock is not what it seems.
      return size >= 512 && size <= 65536 && (size & (size - 1)) === 0 ? size : undefined;
    }
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}
