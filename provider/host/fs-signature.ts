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

const magicBuffer = Buffer.alloc(Math.max(...SIGNATURES.map((s) => s.magic.length)));

function signatureOf(fd: number, expected?: Filesystem): Filesystem | undefined {
  const ordered = expected
    ? [...SIGNATURES.filter((s) => s.fs === expected), ...SIGNATURES.filter((s) => s.fs !== expected)]
    : SIGNATURES;
  for (const signature of ordered) {
    const length = signature.magic.length;
    const read = fs.readSync(fd, magicBuffer, 0, length, signature.offset);
    if (read === length && magicBuffer.compare(signature.magic, 0, length, 0, length) === 0) return signature.fs;
  }
  return undefined;
}

/**
 * The filesystem an image holds, or undefined for an empty/unknown image. ext2/3 count as ext4 here.
 * `expected` is tried first, so the common case costs one read.
 */
export function readFilesystemSignature(imagePath: string, expected?: Filesystem): Filesystem | undefined {
  const fd = fs.openSync(imagePath, 'r');
  try {
    return signatureOf(fd, expected);
  } finally {
    fs.closeSync(fd);
  }
}

export interface ImageInspection {
  readonly stat: fs.Stats;
  /** Only for a regular file. */
  readonly filesystem?: Filesystem;
}

/**
 * Stats an image without following a symlink and, when it is a regular file, reads its filesystem
 * signature through the same descriptor: one open for what a plan needs of each image. Undefined when
 * nothing is at the path.
 */
export function inspectImage(imagePath: string, expected?: Filesystem): ImageInspection | undefined {
  let fd: number;
  try {
    fd = fs.openSync(imagePath, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    // A symlink (ELOOP) or something we may not open: report what is there without reading it.
    const stat = lstatOrUndefined(imagePath);
    return stat ? { stat } : undefined;
  }
  try {
    const stat = fs.fstatSync(fd);
    return stat.isFile() ? { stat, filesystem: signatureOf(fd, expected) } : { stat };
  } finally {
    fs.closeSync(fd);
  }
}

function lstatOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(file);
  } catch {
    return undefined;
  }
}
