/** Sparse image files: thin by construction (ftruncate), so allocation grows only with data. */
import * as fs from 'node:fs';
import { RefusedError, SpecError } from '../errors.js';

export const GiB = 1024 ** 3;

function checkSize(sizeBytes: number): void {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0) {
    throw new SpecError(`image size must be a positive whole number of bytes (got ${sizeBytes})`);
  }
}

/**
 * Creates `path` exclusively (never over an existing file or through a symlink) as a sparse file of
 * `sizeBytes`, mode 0600. On failure nothing is left behind.
 */
export async function createSparseImage(path: string, sizeBytes: number): Promise<void> {
  checkSize(sizeBytes);
  const fd = fs.openSync(
    path,
    fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW,
    0o600,
  );
  try {
    fs.ftruncateSync(fd, sizeBytes);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(path, { force: true });
    throw error;
  }
  fs.closeSync(fd);
}

/** Extends an image to `sizeBytes` (the new space is a hole); refuses to make it smaller. */
export async function growImage(path: string, sizeBytes: number): Promise<void> {
  checkSize(sizeBytes);
  const current = fs.statSync(path).size;
  if (sizeBytes < current)
    throw new RefusedError(`refusing to shrink ${path} from ${current} to ${sizeBytes} bytes: that would cut off data`);
  if (sizeBytes > current) fs.truncateSync(path, sizeBytes);
}

/** Nominal size and bytes really allocated on the host; undefined when the image does not exist. */
export function imageStat(path: string): { sizeBytes: number; allocatedBytes: number } | undefined {
  try {
    const stat = fs.statSync(path);
    return { sizeBytes: stat.size, allocatedBytes: stat.blocks * 512 };
  } catch {
    return undefined;
  }
}
