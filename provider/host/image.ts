/** Sparse image files: thin by construction (ftruncate), so allocation grows only with data. */
import * as fs from 'node:fs';
import { HoststoreError } from '../errors.js';

export const GiB = 1024 ** 3;

/** Creates `path` exclusively (never over an existing file) as a sparse file of `sizeBytes`. */
export async function createSparseImage(path: string, sizeBytes: number): Promise<void> {
  const fd = fs.openSync(path, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, 0o600);
  try {
    fs.ftruncateSync(fd, sizeBytes);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(path, { force: true });
    throw error;
  }
  fs.closeSync(fd);
}

/** Extends an image to `sizeBytes` (still sparse); refuses to make it smaller. */
export async function growImage(path: string, sizeBytes: number): Promise<void> {
  const current = fs.statSync(path).size;
  if (sizeBytes < current) throw new HoststoreError(`refusing to shrink ${path} from ${current} to ${sizeBytes} bytes`, 3);
  if (sizeBytes > current) fs.truncateSync(path, sizeBytes);
}

export function imageStat(path: string): { sizeBytes: number; allocatedBytes: number } | undefined {
  try {
    const stat = fs.statSync(path);
    return { sizeBytes: stat.size, allocatedBytes: stat.blocks * 512 };
  } catch {
    return undefined;
  }
}
