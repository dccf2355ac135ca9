/**
 * File primitives for a process that runs as root among files others may have planted: lstat that never
 * follows a symlink, and durable replacement through an exclusive temporary that is never followed.
 */
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';

/** `lstat`, or undefined when nothing is there (any other error is thrown). */
export function lstatOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** fsync of a directory, so the names just created or renamed in it outlive a power loss. */
export function syncDirectory(dir: string): void {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Replaces `file` with `text` so that a crash leaves the old file or the new one: written to a temporary
 * beside it, created exclusively under an unpredictable name and never through a symlink (one planted at
 * the name makes the open fail instead), fsynced, then renamed into place. The temporary's name has a
 * dot, which cron ignores. The caller syncs the directory when the rename itself must be durable.
 */
export function replaceFileAtomically(file: string, text: string, mode: number): void {
  const tmp = `${file}.${randomBytes(8).toString('hex')}.tmp`;
  const fd = fs.openSync(
    tmp,
    fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
    mode,
  );
  try {
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw error;
  }
}
