/**
 * Recognises a filesystem from its superblock magic by reading a few bytes of the image, so that the
 * "nothing to do" path of a handler never has to spawn blkid.
 */
import * as fs from 'node:fs';
import type { Filesystem } from '../../src/schema.js';

const SIGNATURES: ReadonlyArray<{ fs: Filesystem; offset: number; magic: Buffer }> = [
  { fs: 'ext4', offset: 1024 + 0x38, magic: Buffer.from([0x53, 0xef]) },
  { fs: 'xfs', offset: 0, magic: Buffer.from('XFSB', 'ascii') },
  { fs: 'btrfs', offset: 0x10040, magic: Buffer.from('_BHRfS_M', 'ascii') },
];

/**
 * The filesystem an image holds, or undefined for an empty/unknown image. ext2/3 count as ext4 here.
 * `expected` is tried first, so the common case costs one read.
 */
export function readFilesystemSignature(imagePath: string, expected?: Filesystem): Filesystem | undefined {
  const fd = fs.openSync(imagePath, 'r');
  try {
    const ordered = expected ? [...SIGNATURES.filter((s) => s.fs === expected), ...SIGNATURES.filter((s) => s.fs !== expected)] : SIGNATURES;
    for (const signature of ordered) {
      const buffer = Buffer.alloc(signature.magic.length);
      const read = fs.readSync(fd, buffer, 0, buffer.length, signature.offset);
      if (read === buffer.length && buffer.equals(signature.magic)) return signature.fs;
    }
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}
